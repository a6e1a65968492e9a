-- Compliance rows of one day ($force, $date) with what the alert rules and messages need:
-- the area name, the hot spot's rank, the previous day's row, whether an under_target alert exists for it, and
-- whether the current streak without patrol (the days_without_patrol days ending this day) already escalated.
SELECT
    c.area_code,
    c.date,
    c.selection_id,
    c.planned,
    c.target_minutes,
    c.delivered_minutes,
    c.patrol_minutes,
    c.koper_visits,
    c.longest_visit_minutes,
    c.dose_rule,
    c.status,
    c.days_without_patrol,
    c.last_patrol_date,
    c.ratio_7d,
    c.ratio_28d,
    coalesce(a.area_name, r.area_name) AS area_name,
    r.rank,
    prev.status AS prev_status,
    prev.planned AS prev_planned,
    exists(
        SELECT 1 FROM alerts AS x
        WHERE x.force = c.force AND x.area_code = c.area_code AND x.rule = 'under_target'
            AND x.date = c.date - 1
    ) AS prev_under_alert,
    exists(
        SELECT 1 FROM alerts AS x
        WHERE x.force = c.force AND x.area_code = c.area_code AND x.rule = 'no_patrol'
            AND x.date < c.date AND x.date > c.date - c.days_without_patrol
    ) AS escalated_in_streak
FROM daily_compliance AS c
LEFT JOIN stg_areas AS a ON c.force = a.force AND c.area_code = a.area_code
LEFT JOIN hotspot_ranking AS r ON c.force = r.force AND c.selection_id = r.selection_id AND c.area_code = r.area_code
LEFT JOIN daily_compliance AS prev ON c.force = prev.force AND c.area_code = prev.area_code AND prev.date = c.date - 1
WHERE c.force = $force AND c.date = $date
ORDER BY coalesce(r.rank, 2147483647), c.area_code
