"""Load each force's area boundaries (LSOAs, grid cells or any polygons) into the warehouse.

Trigger after dropping a boundary file in landing/<force>/areas/. Publishes the stg_areas asset.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from hotspots.dag_support import AREAS, DEFAULT_ARGS, START_DATE, WRITER_POOL, forces, migrate_warehouse


@dag(
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["hotspots", "ingest"],
    doc_md=__doc__,
)
def ingest_areas():
    @task(pool=WRITER_POOL, outlets=[AREAS], map_index_template="{{ force }}")
    def load_areas(force: str) -> dict:
        from hotspots.pipeline import ingest_areas as run

        return run(force)

    forces_served = forces()
    migrate_warehouse() >> forces_served
    load_areas.expand(force=forces_served)


ingest_areas()
