-- The daily aggregate of the pings retention is about to remove ($force, local dates before $cutoff), kept in
-- retired_ping_days (a rerun adds to a day already retired, e.g. late pings loaded after the first removal).
-- MERGE, not ON CONFLICT: the same statement runs on a DuckDB file and on a DuckLake (no keys there).
MERGE INTO retired_ping_days AS r
USING (
    SELECT
        force,
        local_date,
        count(*) AS pings,
        count(DISTINCT device_key) AS devices,
        $retired_at AS retired_at
    FROM stg_pings
    WHERE force = $force AND local_date < $cutoff
    GROUP BY force, local_date
) AS n
    ON r.force = n.force AND r.local_date = n.local_date
WHEN MATCHED THEN
    UPDATE
        SET
            pings = r.pings + n.pings,
            devices = greatest(r.devices, n.devices),
            retired_at = n.retired_at
WHEN NOT MATCHED THEN
    INSERT (force, local_date, pings, devices, retired_at)
    VALUES (n.force, n.local_date, n.pings, n.devices, n.retired_at)
