"""Rank areas by harm and publish each force's hot-spot list when it changes.

Runs when new crime or areas land. Writes hotspot_ranking and, when the list changes, a new selections row
(the selections asset).
"""

from __future__ import annotations

from airflow.sdk import dag, task

from hotspots.dag_support import (
    AREAS,
    CRIME,
    DEFAULT_ARGS,
    HOTSPOTS,
    START_DATE,
    WRITER_POOL,
    forces,
    migrate_warehouse,
)


@dag(
    schedule=(CRIME | AREAS),
    start_date=START_DATE,
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["hotspots", "selection"],
    doc_md=__doc__,
)
def select_hotspots():
    @task(pool=WRITER_POOL, outlets=[HOTSPOTS], map_index_template="{{ force }}")
    def rank_and_select(force: str) -> dict:
        from hotspots.pipeline import select_hotspots as run

        result = run(force)
        return {k: result.get(k) for k in ("selection_id", "effective_from", "hotspots", "added", "removed", "changed")}

    forces_served = forces()
    migrate_warehouse() >> forces_served
    rank_and_select.expand(force=forces_served)


select_hotspots()
