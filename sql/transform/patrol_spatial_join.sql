-- Reference implementation of daily patrol (docs/patrol.md) with a DuckDB SPATIAL_JOIN (ST_DWithin).
-- Straightforward SQL used by tests and `hotspots bench patrol-minutes` to check the fast method exactly.
-- Inputs (registered by hotspots.patrol.reference): ref_pings(ping_id, device, ts_us, x, y, speed) in EPSG:27700,
-- ref_areas(area_idx, geom), ref_days(day_idx, day_lo, day_hi, w1lo, w1hi, w2lo, w2hi) in UTC microseconds.
-- Parameters: $gap_us, $max_speed (NULL = no transit filter), $buffer_m, $koper_us.
WITH ordered AS (
    SELECT
        device,
        ts_us,
        x,
        y,
        speed,
        lead(ts_us) OVER w AS next_ts,
        lead(x) OVER w AS next_x,
        lead(y) OVER w AS next_y
    FROM ref_pings
    WINDOW w AS (PARTITION BY device ORDER BY ts_us, ping_id)
),

intervals AS (  -- presence from a ping until the next ping of the device, capped at max_gap; transit removed
    SELECT
        device,
        x,
        y,
        ts_us AS start_us,
        ts_us + least(next_ts - ts_us, $gap_us) AS end_us
    FROM ordered
    WHERE next_ts > ts_us
        AND (
            $max_speed IS NULL
            OR CASE WHEN speed IS NULL OR isnan(speed)
                    THEN sqrt((next_x - x) * (next_x - x) + (next_y - y) * (next_y - y)) * 3600000.0 / (next_ts - ts_us)
                ELSE speed
            END <= $max_speed
        )
),

located AS (  -- the spatial join: every area within buffer_m of the starting ping
    SELECT
        a.area_idx,
        i.device,
        i.start_us,
        i.end_us
    FROM intervals AS i
    INNER JOIN ref_areas AS a ON st_dwithin(st_point(i.x, i.y), a.geom, $buffer_m)
),

pieces AS (  -- split at local midnight
    SELECT
        l.area_idx,
        d.day_idx,
        l.device,
        greatest(l.start_us, d.day_lo) AS s,
        least(l.end_us, d.day_hi) AS e
    FROM located AS l
    INNER JOIN ref_days AS d ON l.start_us < d.day_hi AND l.end_us > d.day_lo
),

officer AS (
    SELECT
        area_idx,
        day_idx,
        sum(e - s) AS officer_us,
        count(DISTINCT device) AS devices
    FROM pieces
    GROUP BY area_idx, day_idx
),

marked AS (  -- a piece starts a new visit when it begins after every earlier piece has ended (a hole)
    SELECT
        area_idx,
        day_idx,
        s,
        e,
        max(e) OVER (
            PARTITION BY area_idx, day_idx ORDER BY s, e
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS prev_end
    FROM pieces
),

numbered AS (
    SELECT
        *,
        sum(CASE WHEN prev_end IS NULL OR s > prev_end THEN 1 ELSE 0 END)
            OVER (PARTITION BY area_idx, day_idx ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS visit_no
    FROM marked
),

visits AS (
    SELECT
        area_idx,
        day_idx,
        visit_no,
        min(s) AS vs,
        max(e) AS ve
    FROM numbered
    GROUP BY ALL
),

per_visit AS (
    SELECT
        v.area_idx,
        v.day_idx,
        v.ve - v.vs AS len_us,
        greatest(0, least(v.ve, d.w1hi) - greatest(v.vs, d.w1lo)) AS w1_us,
        greatest(0, least(v.ve, d.w2hi) - greatest(v.vs, d.w2lo)) AS w2_us
    FROM visits AS v INNER JOIN ref_days AS d USING (day_idx)
)

SELECT
    p.area_idx,
    p.day_idx,
    sum(p.len_us)::BIGINT AS patrol_us,
    any_value(o.officer_us)::BIGINT AS officer_us,
    count(*) AS visits,
    count(*) FILTER (WHERE p.len_us >= $koper_us) AS koper_visits,
    any_value(o.devices) AS devices,
    sum(p.w1_us + p.w2_us)::BIGINT AS window_us,
    max(greatest(p.w1_us, p.w2_us))::BIGINT AS longest_window_us  -- the longest stretch of one visit in one window
FROM per_visit AS p INNER JOIN officer AS o USING (area_idx, day_idx)
GROUP BY p.area_idx, p.day_idx
ORDER BY p.area_idx, p.day_idx
