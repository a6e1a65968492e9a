# Two commands do all the set-up on a fresh machine:
#   make demo   installs everything into .venv and runs the main job end to end
#   make test   installs everything into .venv and runs the tests
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install system-deps airflow-ui clean

$(STAMP): requirements.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==26.3
	$(BIN)/pip install --quiet -r requirements.txt -c constraints.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

system-deps:
	bash scripts/install-system-deps

demo: install
	$(BIN)/hotspots demo

# Lint (ruff, sqlfluff; configuration in pyproject.toml and .sqlfluff), then the tests.
test: install system-deps lint
	$(BIN)/python -m pytest

LINTED := include dags plugins tests benchmarks scripts

lint: install
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/sqlfluff lint sql

airflow-ui: install
	. <($(BIN)/hotspots airflow-env) && $(BIN)/airflow standalone

clean:
	rm -rf var
