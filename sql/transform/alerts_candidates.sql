-- Compliance rows of one day ($force, $date) with what the alert rules and messages need:
-- the area name, the hot spot's rank, the previous day's row, and whether an under_target alert exists for it.
SELECT c.area_code, c.date, c.selection_id, c.planned, c.target_minutes, c.delivered_minutes,
       c.patrol_minutes, c.koper_visits, c.status, c.days_without_patrol, c.last_patrol_date,
       c.ratio_7d, c.ratio_28d,
       coalesce(a.area_name, r.area_name) AS area_name, r.rank,
       prev.status AS prev_status, prev.planned AS prev_planned,
       EXISTS (SELECT 1 FROM alerts x
               WHERE x.force = c.force AND x.area_code = c.area_code AND x.rule = 'under_target'
                 AND x.date = c.date - 1) AS prev_under_alert
FROM daily_compliance c
LEFT JOIN stg_areas a ON a.force = c.force AND a.area_code = c.area_code
LEFT JOIN hotspot_ranking r ON r.force = c.force AND r.selection_id = c.selection_id AND r.area_code = c.area_code
LEFT JOIN daily_compliance prev ON prev.force = c.force AND prev.area_code = c.area_code AND prev.date = c.date - 1
WHERE c.force = $force AND c.date = $date
ORDER BY coalesce(r.rank, 2147483647), c.area_code
