-- The daily aggregate of the pings retention is about to remove ($force, local dates before $cutoff), kept in
-- retired_ping_days (a rerun adds to a day already retired, e.g. late pings loaded after the first removal).
INSERT INTO retired_ping_days AS r (force, local_date, pings, devices, retired_at)
SELECT
    force,
    local_date,
    count(*) AS pings,
    count(DISTINCT device_key) AS devices,
    $retired_at AS retired_at
FROM stg_pings
WHERE force = $force AND local_date < $cutoff
GROUP BY force, local_date
ON CONFLICT (force, local_date) DO UPDATE SET
    pings = r.pings + excluded.pings,
    devices = greatest(r.devices, excluded.devices),
    retired_at = excluded.retired_at
