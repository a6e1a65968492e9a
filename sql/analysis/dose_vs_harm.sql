-- Patrol dose delivered against harm.
-- For each current hot spot, over the 28 days ending with the latest day computed: patrol minutes
-- delivered inside the window against the target, Koper visits, and minutes per 1,000 days of harm,
-- next to the hot spot's harm rank. harm_dose_correlation (per force, across hot spots) near +1 means the
-- dose follows the harm; near 0 or negative means the most harmful places are not getting more patrol.
-- Run: hotspots query --file sql/analysis/dose_vs_harm.sql
WITH latest AS (
    SELECT
        force,
        max(date) AS last_day
    FROM daily_compliance
    GROUP BY force
),

dose AS (
    SELECT
        c.force,
        c.area_code,
        count(*) AS days,
        sum(c.delivered_minutes) AS delivered_minutes,
        sum(c.target_minutes) AS target_minutes,
        sum(c.koper_visits) AS koper_visits
    FROM daily_compliance AS c
    INNER JOIN latest AS l ON c.force = l.force AND c.date BETWEEN l.last_day - 27 AND l.last_day
    GROUP BY c.force, c.area_code
)

SELECT
    h.force,
    h.rank,
    h.area_code,
    h.area_name,
    h.harm,
    round(h.harm_share, 4) AS harm_share,
    d.days,
    round(d.delivered_minutes, 1) AS delivered_minutes,
    d.target_minutes,
    round(d.delivered_minutes / nullif(d.target_minutes, 0), 3) AS dose_ratio,
    d.koper_visits,
    round(1000 * d.delivered_minutes / nullif(h.harm, 0), 2) AS minutes_per_1000_harm,
    round(corr(h.harm, d.delivered_minutes) OVER (PARTITION BY h.force), 3) AS harm_dose_correlation
FROM current_hotspots AS h
LEFT JOIN dose AS d ON h.force = d.force AND h.area_code = d.area_code
ORDER BY h.force, h.rank;
