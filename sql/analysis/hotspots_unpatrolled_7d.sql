-- Hot spots never patrolled in the last 7 days.
-- Hot spots on the list on the latest day computed with no patrol at all (not even outside the patrol
-- window) on any of the 7 days ending that day, most neglected first. These are the places where the
-- Rowan effect has worn off (it was gone by day 4 without patrol).
-- Another window: change 6 (days before the latest day) or replace max(date) by a day.
-- Run: hotspots query --file sql/analysis/hotspots_unpatrolled_7d.sql
WITH latest AS (
    SELECT
        force,
        max(date) AS last_day
    FROM daily_compliance
    GROUP BY force
),

week AS (
    SELECT
        c.*,
        l.last_day
    FROM daily_compliance AS c
    INNER JOIN latest AS l ON c.force = l.force AND c.date BETWEEN l.last_day - 6 AND l.last_day
)

SELECT
    w.force,
    w.area_code,
    any_value(r.area_name) AS area_name,
    any_value(r.rank) AS rank,
    any_value(r.harm) AS harm,
    count(*) AS days_on_list,
    max(w.last_patrol_date) AS last_patrol_date,
    arg_max(w.days_without_patrol, w.date) AS days_without_patrol
FROM week AS w
LEFT JOIN hotspot_ranking AS r ON w.force = r.force AND w.selection_id = r.selection_id AND w.area_code = r.area_code
GROUP BY w.force, w.area_code
HAVING sum(w.patrol_minutes) = 0 AND max(w.date) = any_value(w.last_day)
ORDER BY w.force ASC, days_without_patrol DESC, rank ASC;
