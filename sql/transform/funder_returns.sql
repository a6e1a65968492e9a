-- The funder return (Home Office hot-spot funding): patrol hours, visits, Koper visits and compliance per hot spot
-- and in total (area_code 'TOTAL') for each force, over the local days $first_day to $last_day; $force NULL for
-- every force. From daily_compliance (each hot spot's day against its target) and daily_patrol (visits).
WITH days AS (
    SELECT
        c.force,
        c.area_code,
        c.planned,
        c.status,
        c.target_minutes,
        c.delivered_minutes,
        c.patrol_minutes,
        c.koper_visits,
        coalesce(p.visits, 0) AS visits
    FROM daily_compliance AS c
    LEFT JOIN daily_patrol AS p ON c.force = p.force AND c.area_code = p.area_code AND c.date = p.date
    WHERE
        c.date >= $first_day
        AND c.date <= $last_day
        AND ($force IS NULL OR c.force = $force)
)

SELECT
    force,
    coalesce(area_code, 'TOTAL') AS area_code,
    count(*) AS hotspot_days,
    count(*) FILTER (WHERE planned) AS planned_days,
    round(sum(patrol_minutes) / 60, 2) AS patrol_hours,
    round(sum(delivered_minutes) / 60, 2) AS window_patrol_hours,
    sum(visits) AS visits,
    sum(koper_visits) AS koper_visits,
    round(sum(target_minutes) / 60, 2) AS target_hours,
    count(*) FILTER (WHERE planned AND status = 'met') AS days_met,
    round(
        sum(delivered_minutes) FILTER (WHERE planned) / nullif(sum(target_minutes), 0), 4
    ) AS compliance
FROM days
GROUP BY GROUPING SETS ((force, area_code), (force))
ORDER BY force, area_code = 'TOTAL', area_code
