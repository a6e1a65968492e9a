-- Stretches of at least $gap_minutes without any ping of the force between $lo and $hi (UTC): the
-- bounds count as pings, so an empty stretch at either end is a gap too.
WITH stamps AS (
    SELECT DISTINCT ts_utc AS ts
    FROM stg_pings
    WHERE force = $force AND ts_utc >= $lo AND ts_utc < $hi
    UNION ALL
    SELECT $lo::TIMESTAMP AS ts
    UNION ALL
    SELECT $hi::TIMESTAMP AS ts
),

steps AS (
    SELECT
        ts AS gap_end,
        lag(ts) OVER (ORDER BY ts) AS gap_start
    FROM stamps
)

SELECT
    gap_start,
    gap_end
FROM steps
WHERE date_diff('second', gap_start, gap_end) >= $gap_minutes * 60
ORDER BY gap_start
