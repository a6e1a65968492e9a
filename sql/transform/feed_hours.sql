-- Pings, devices and files of one force per local hour of one local day ($force, $date).
-- Needs the temp table feed_hour_bounds(local_hour, hour_start, hour_end): the day's local hours in UTC
-- (hotspots.feed.hour_bounds_utc). Hours without pings give no row.
SELECT
    $force AS force,
    $date::DATE AS date,
    b.local_hour,
    b.hour_start AS hour_start_utc,
    count(*) AS pings,
    count(DISTINCT p.device_key) AS devices,
    count(DISTINCT p.source_file) AS files,
    now()::TIMESTAMP AS computed_at
FROM stg_pings AS p
INNER JOIN feed_hour_bounds AS b ON p.ts_utc >= b.hour_start AND p.ts_utc < b.hour_end
WHERE p.force = $force AND p.local_date = $date
GROUP BY b.local_hour, b.hour_start
