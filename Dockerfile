# Airflow 3.3.2 image with the hotspots pipeline: pinned requirements and the project package.
# Built by docker-compose.yaml (`docker compose build`); dags/, plugins/, include/ and sql/ are also
# mounted there, so code changes need no rebuild, dependency changes do.
FROM apache/airflow:3.3.2-python3.11

ARG AIRFLOW_VERSION=3.3.2

# Requirements first: this layer is rebuilt only when the pins change. Pinning apache-airflow as well
# keeps pip from upgrading or downgrading the Airflow of the base image
# (https://airflow.apache.org/docs/docker-stack/build.html).
COPY --chown=airflow:0 requirements.txt constraints.txt /opt/airflow/
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" \
        -r /opt/airflow/requirements.txt -c /opt/airflow/constraints.txt

# The project, laid out as in the repository so that sql_dir and the editable package resolve to the
# mounted folders: /opt/airflow/{dags,plugins,include,sql}.
COPY --chown=airflow:0 pyproject.toml /opt/airflow/pyproject.toml
COPY --chown=airflow:0 include /opt/airflow/include
COPY --chown=airflow:0 sql /opt/airflow/sql
COPY --chown=airflow:0 dags /opt/airflow/dags
COPY --chown=airflow:0 plugins /opt/airflow/plugins
COPY --chown=airflow:0 scripts/airflow-init.sh /opt/airflow/scripts/airflow-init.sh
RUN pip install --no-cache-dir --no-deps -e /opt/airflow -c /opt/airflow/constraints.txt

ENV HOTSPOTS_DATA_DIR=/opt/airflow/data \
    HOTSPOTS_SQL_DIR=/opt/airflow/sql
