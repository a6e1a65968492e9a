-- Pings of a force and local date range for the patrol kernel (hotspots.patrol.daily.compute_daily_patrol):
-- devices as integer codes in device_key order (numeric columns only, so the fetch is numpy, not Python
-- strings), speed NaN when not reported, in time order (ties by device). Parameters: force, first, last.
WITH pings AS (
    SELECT
        device_key,
        ts_utc,
        easting,
        northing,
        speed_kmh
    FROM stg_pings
    WHERE force = $force AND local_date BETWEEN $first AND $last
),

devices AS (
    SELECT
        device_key,
        cast(row_number() OVER (ORDER BY device_key) - 1 AS INTEGER) AS code
    FROM (SELECT DISTINCT device_key FROM pings) AS distinct_devices
)

SELECT
    d.code AS device_key,
    epoch_us(p.ts_utc) AS ts,
    p.easting,
    p.northing,
    coalesce(p.speed_kmh, cast('NaN' AS DOUBLE)) AS speed_kmh
FROM pings AS p INNER JOIN devices AS d USING (device_key)
ORDER BY p.ts_utc, d.code
