"""The lake's data on S3-compatible object storage: moto's S3 server (a real HTTP server on 127.0.0.1) stands in
for the bucket, credentials come from the Airflow connection HOTSPOTS_LAKE_S3_CONN_ID."""

from __future__ import annotations

import json

import pytest
import warehouse_rows as rows

from hotspots.settings import reload_settings

BUCKET = "hotspots-lake"


@pytest.fixture
def s3_server():
    """moto's S3 server on a free local port, with an empty bucket; stopped afterwards."""
    boto3 = pytest.importorskip("boto3")
    server_module = pytest.importorskip("moto.server")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="eu-west-2",
    )
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    yield endpoint, client
    server.stop()


def test_the_lake_keeps_its_parquet_in_the_bucket(settings, monkeypatch, s3_server):
    from hotspots.warehouse import migrate, open_snapshot, open_warehouse

    endpoint, client = s3_server
    connection = {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": {"endpoint_url": endpoint, "region_name": "eu-west-2"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_HOTSPOTS_LAKE_S3", json.dumps(connection))
    monkeypatch.setenv("HOTSPOTS_WAREHOUSE_CATALOG", "ducklake")
    monkeypatch.setenv("HOTSPOTS_LAKE_DATA_PATH", f"s3://{BUCKET}/national/")
    monkeypatch.delenv("HOTSPOTS_LAKE_CATALOG", raising=False)
    lake = reload_settings()
    try:
        migrate(lake)
        with open_warehouse(lake) as con:
            rows.populate(con)
        with open_snapshot(lake) as con:
            areas = con.execute("SELECT count(*), sum(ST_Area(geom)) FROM stg_areas").fetchone()
            hotspots = [
                h for (h,) in con.execute("SELECT area_code FROM current_hotspots ORDER BY area_code").fetchall()
            ]
    finally:
        reload_settings()
    assert areas == (len(rows.area_codes()), pytest.approx(len(rows.area_codes()) * rows.CELL_M**2))
    assert hotspots == ["T03", "T07", "T08", "T12", "T16"]
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix="national/").get("Contents", [])]
    assert any(k.endswith(".parquet") and "stg_areas" in k for k in keys), keys
    assert not list(lake.data_dir.rglob("*.parquet")), "no data file may land on the local disk"
