"""docs/warehouse.md is generated from the catalogue: every object and column is commented, and the file is current."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from hotspots.cli import app
from hotspots.docs import fresh_schema, missing_comments, render_warehouse_docs

DOCS = Path(__file__).resolve().parents[1] / "docs" / "warehouse.md"

MARTS = {"selections", "selection_history", "current_hotspots", "daily_patrol", "daily_compliance", "alerts",
         "alerts_status", "harm_concentration", "monthly_harm", "area_teams"}


def test_every_table_view_and_column_has_a_comment(settings):
    con = fresh_schema(settings)
    try:
        assert missing_comments(con) == []
        names = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
        names |= {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert MARTS <= names
    finally:
        con.close()


def test_missing_comment_is_reported(settings):
    con = fresh_schema(settings)
    try:
        con.execute("CREATE TABLE undocumented (a INTEGER)")
        con.execute("COMMENT ON COLUMN alerts.team IS ''")
        assert missing_comments(con) == ["alerts.team", "undocumented", "undocumented.a"]
    finally:
        con.close()


def test_committed_docs_match_a_fresh_schema(settings):
    con = fresh_schema(settings)
    try:
        text = render_warehouse_docs(con, settings)
    finally:
        con.close()
    assert "| alert_key | VARCHAR | no | Unique key: rule\\|force\\|area_code\\|date. |" in text
    assert "## selection_history" in text and "defined in `sql/marts/60_selection_history.sql`" in text
    assert DOCS.read_text() == text, "docs/warehouse.md is stale: run `hotspots docs warehouse`"


def test_docs_command_writes_the_file(settings, tmp_path):
    out = tmp_path / "warehouse.md"
    result = CliRunner().invoke(app, ["docs", "warehouse", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text() == DOCS.read_text()
