-- The planned hot spots of a day with what they have had so far (for no_visit_yet): minutes in the window,
-- all patrol minutes, Koper visits and the last day with patrol. Parameters: $force, $date, $codes (the plan),
-- $selection_id.
SELECT
    h.area_code,
    coalesce(a.area_name, r.area_name) AS area_name,
    r.rank,
    coalesce(p.window_minutes, 0) AS delivered_minutes,
    coalesce(p.patrol_minutes, 0) AS patrol_minutes,
    coalesce(p.koper_visits, 0) AS koper_visits,
    (
        SELECT max(q.date) FROM daily_patrol AS q
        WHERE q.force = $force AND q.area_code = h.area_code
            AND q.date <= $date AND q.patrol_minutes > 0
    ) AS last_patrol_date
FROM (SELECT unnest($codes::VARCHAR[]) AS area_code) AS h
LEFT JOIN daily_patrol AS p ON p.force = $force AND p.date = $date AND h.area_code = p.area_code
LEFT JOIN stg_areas AS a ON a.force = $force AND h.area_code = a.area_code
LEFT JOIN hotspot_ranking AS r ON r.force = $force AND r.selection_id = $selection_id AND h.area_code = r.area_code
ORDER BY coalesce(r.rank, 2147483647), h.area_code
