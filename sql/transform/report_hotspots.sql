-- The selected hot spots of a report day, by rank, with that day's compliance row. Parameters: $force, $day,
-- $selection_id.
SELECT
    r.rank,
    r.area_code,
    coalesce(r.area_name, a.area_name, '') AS area_name,
    r.harm,
    r.events,
    c.status,
    c.planned,
    c.target_minutes,
    c.delivered_minutes,
    c.patrol_minutes,
    c.koper_visits,
    c.longest_visit_minutes,
    c.dose_rule,
    c.days_without_patrol,
    c.last_patrol_date,
    c.ratio_7d,
    c.ratio_28d
FROM hotspot_ranking AS r
LEFT JOIN daily_compliance AS c ON r.force = c.force AND r.area_code = c.area_code AND c.date = $day
LEFT JOIN stg_areas AS a ON r.force = a.force AND r.area_code = a.area_code
WHERE r.force = $force AND r.selection_id = $selection_id AND r.selected
ORDER BY r.rank
