#!/usr/bin/env bash
# airflow-init for docker-compose.yaml: folders, admin password, database migration, the duckdb_writer pool
# and placeholder connections. Idempotent: run it again after an upgrade (`docker compose up airflow-init`).
#
#   airflow-init.sh           as root: prepare folders, then re-enter through the image's /entrypoint
#                             (which waits for the database and runs `airflow db migrate`)
#   airflow-init.sh objects   create the pool and the connections (called by the line above)
set -euo pipefail

if [[ "${1:-}" == "objects" ]]; then
    # A DuckDB file allows a single read-write process: one slot. A DuckLake takes one writer per worker slot
    # (WRITER_POOL_SLOTS, default 4); hotspots.warehouse.writer_lock keeps each force's own steps in series.
    if [[ "${HOTSPOTS_WAREHOUSE_CATALOG:-duckdb}" == "ducklake" ]]; then
        writer_slots="${WRITER_POOL_SLOTS:-4}"
        # The lake's catalog: a database of its own on the metadata server, created once.
        if [[ "${HOTSPOTS_LAKE_CATALOG:-}" == postgres:* ]]; then
            python - <<'PY'
import os, re, psycopg2
dsn = os.environ["HOTSPOTS_LAKE_CATALOG"].removeprefix("postgres:")
name = re.search(r"dbname=(\S+)", dsn).group(1)
admin = psycopg2.connect(re.sub(r"dbname=\S+", "dbname=postgres", dsn))
admin.autocommit = True
with admin.cursor() as cur:
    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
    if cur.fetchone() is None:
        cur.execute(f'CREATE DATABASE "{name}"')
        print(f"created the DuckLake catalog database {name}")
PY
        fi
    else
        writer_slots=1
    fi
    airflow pools set duckdb_writer "${writer_slots}" "Writers of the warehouse: 1 on a DuckDB file, workers' slots on a DuckLake"

    # Placeholders only when missing, so connections edited in the UI or CLI are never overwritten. Without a
    # token (Slack) or host (SMTP) the pipeline marks that channel 'skipped' and keeps alerts in the outbox.
    if ! airflow connections get slack_api_default >/dev/null 2>&1; then
        airflow connections add slack_api_default --conn-type slack \
            --conn-password "${SLACK_API_TOKEN:-}" \
            --conn-extra "{\"base_url\": \"${SLACK_API_BASE_URL:-https://slack.com/api/}\"}"
    fi
    if ! airflow connections get smtp_default >/dev/null 2>&1; then
        airflow connections add smtp_default --conn-type smtp \
            --conn-host "${SMTP_HOST:-}" --conn-port "${SMTP_PORT:-587}" \
            --conn-login "${SMTP_USER:-}" --conn-password "${SMTP_PASSWORD:-}" \
            --conn-extra "{\"from_email\": \"${SMTP_FROM:-hotspots@example.org}\", \"disable_ssl\": true, \"disable_tls\": false}"
    fi
    airflow pools list
    airflow connections list --output table
    exit 0
fi

if [[ -z "${AIRFLOW_UID:-}" ]]; then
    echo "WARNING: AIRFLOW_UID not set; files in the mounted folders will be owned by root." >&2
    echo "         Put AIRFLOW_UID=\$(id -u) in .env (see .env.example)." >&2
    export AIRFLOW_UID=50000
fi

data=/opt/airflow/data
mkdir -v -p /opt/airflow/{logs,dags,plugins,config} \
    "${data}"/{landing,raw,warehouse,outbox,reports,gx_docs}

# SimpleAuthManager reads its users' passwords from this JSON file ({"user": "password"}).
python - <<'PY'
import json, os, pathlib
path = pathlib.Path(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
passwords = json.loads(path.read_text() or "{}") if path.exists() else {}
passwords[os.environ["_AIRFLOW_WWW_USER_USERNAME"]] = os.environ["_AIRFLOW_WWW_USER_PASSWORD"]
path.write_text(json.dumps(passwords) + "\n")
path.chmod(0o640)
PY

chown -R "${AIRFLOW_UID}:0" /opt/airflow/{logs,config} "${data}"
exec /entrypoint bash "$0" objects
