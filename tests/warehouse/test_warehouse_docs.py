"""docs/warehouse.md is generated from the catalogue: every object and column is commented, and the file is current."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from hotspots.cli import app
from hotspots.docs import fresh_schema, missing_comments, render_warehouse_docs
from hotspots.settings import PROJECT_ROOT, Settings

DOCS = PROJECT_ROOT / "docs" / "warehouse.md"
CHECKOUT = Settings(sql_dir=PROJECT_ROOT / "sql")

MARTS = {
    "selections",
    "selection_history",
    "current_hotspots",
    "daily_patrol",
    "daily_compliance",
    "alerts",
    "alerts_status",
    "harm_concentration",
    "monthly_harm",
    "area_teams",
}


@pytest.fixture(scope="module")
def catalogue():
    """An in-memory database with every sql/ model applied (sql/ of this checkout)."""
    con = fresh_schema(CHECKOUT)
    yield con
    con.close()


def test_every_table_view_and_column_has_a_comment(catalogue):
    assert missing_comments(catalogue) == []
    names = {r[0] for r in catalogue.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    names |= {r[0] for r in catalogue.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert MARTS <= names


def test_missing_comment_is_reported(catalogue):
    catalogue.execute("BEGIN")
    try:
        catalogue.execute("CREATE TABLE undocumented (a INTEGER)")
        catalogue.execute("COMMENT ON COLUMN alerts.team IS ''")
        assert missing_comments(catalogue) == ["alerts.team", "undocumented", "undocumented.a"]
    finally:
        catalogue.execute("ROLLBACK")
    assert missing_comments(catalogue) == []


def test_committed_docs_match_a_fresh_schema(catalogue):
    text = render_warehouse_docs(catalogue, CHECKOUT)
    assert "| alert_key | VARCHAR | no | Unique key: rule\\|force\\|area_code\\|date. |" in text
    assert "## selection_history" in text and "defined in `sql/marts/60_selection_history.sql`" in text
    assert DOCS.read_text() == text, "docs/warehouse.md is stale: run `hotspots docs warehouse`"


def test_docs_command_writes_the_file(settings, tmp_path):
    out = tmp_path / "warehouse.md"
    result = CliRunner().invoke(app, ["docs", "warehouse", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text() == DOCS.read_text()
