-- Compliance of every hot spot of one selection on one local day ($force, $date).
-- Parameters: $force, $date, $selection_id, $use_plan, $has_data, $computed_at (UTC), $dose_rule and
-- $dose_visit_minutes (hotspots.compliance.dose_rule_params). Whether the dose was met is the macro dose_met's
-- (sql/marts/29_dose_met.sql), the rule's one owner; status met/under follows it.
-- Needs the temp tables compliance_targets(area_code, target_minutes): each hot spot's full daily target, from
-- hotspots.compliance.hotspot_targets (the one owner of that rule), and
-- compliance_hotspot_since(area_code, since): the first day of an unbroken run as a hot spot, over consecutive
-- selections; streaks of days without patrol count from it.
-- $has_data: whether the force has any GPS data inside the day's patrol window (hotspots.feed.day_has_data);
-- without, every hot spot gets status no_data: unknown, never none or under (docs/alerts.md, Missing data).
WITH hotspot AS (
    SELECT
        l.selection_id,
        coalesce(h.since, l.effective_from) AS effective_from,
        l.area_code
    FROM (
        SELECT
            selection_id,
            effective_from,
            unnest(hotspots) AS area_code
        FROM selections
        WHERE force = $force AND selection_id = $selection_id
    ) AS l
    LEFT JOIN compliance_hotspot_since AS h USING (area_code)
),

today AS (
    SELECT
        area_code,
        patrol_minutes,
        koper_visits,
        window_minutes,
        longest_visit_minutes
    FROM daily_patrol
    WHERE force = $force AND date = $date
),

history AS (
    SELECT
        h.area_code,
        max(p.date) AS last_patrol_date,
        max(p.date) FILTER (WHERE p.date >= h.effective_from) AS last_patrol_in_selection
    FROM hotspot AS h
    INNER JOIN daily_patrol AS p ON p.force = $force AND h.area_code = p.area_code
    WHERE p.date <= $date AND p.patrol_minutes > 0
    GROUP BY h.area_code
),

earlier AS (
    -- Earlier days of the 7- and 28-day windows, from their own compliance rows.
    SELECT
        area_code,
        sum(delivered_minutes) FILTER (WHERE planned AND date > $date::DATE - 7) AS delivered_7d,
        sum(target_minutes) FILTER (WHERE planned AND date > $date::DATE - 7) AS target_7d,
        sum(delivered_minutes) FILTER (WHERE planned) AS delivered_28d,
        sum(target_minutes) FILTER (WHERE planned) AS target_28d
    FROM daily_compliance
    WHERE force = $force AND date < $date AND date > $date::DATE - 28 AND status <> 'no_data'
    GROUP BY area_code
),

base AS (
    SELECT
        h.area_code,
        h.selection_id,
        h.effective_from,
        CASE WHEN $use_plan THEN coalesce(pl.planned, FALSE) ELSE TRUE END AS planned,
        o.target_minutes AS full_target,
        coalesce(t.window_minutes, 0) AS delivered_minutes,
        coalesce(t.patrol_minutes, 0) AS patrol_minutes,
        coalesce(t.koper_visits, 0) AS koper_visits,
        coalesce(t.longest_visit_minutes, 0) AS longest_visit_minutes,
        hi.last_patrol_date,
        hi.last_patrol_in_selection,
        $has_data AS has_data
    FROM hotspot AS h
    LEFT JOIN today AS t USING (area_code)
    LEFT JOIN history AS hi USING (area_code)
    LEFT JOIN compliance_targets AS o USING (area_code)
    LEFT JOIN daily_plan AS pl ON pl.force = $force AND pl.date = $date AND h.area_code = pl.area_code
),

dosed AS (
    SELECT
        *,
        CASE WHEN has_data
                THEN dose_met($dose_rule, delivered_minutes, longest_visit_minutes, full_target, $dose_visit_minutes)
        END AS dose_met
    FROM base
),

scored AS (
    SELECT
        *,
        CASE WHEN planned THEN full_target ELSE 0 END AS target_minutes,
        CASE WHEN NOT has_data THEN 'no_data'
            WHEN NOT planned THEN 'not_planned'
            WHEN dose_met THEN 'met'
            WHEN patrol_minutes = 0 THEN 'none'
            ELSE 'under'
        END AS status,
        CASE WHEN patrol_minutes > 0 THEN 0
            WHEN last_patrol_in_selection IS NULL THEN date_diff('day', effective_from, $date::DATE) + 1
            ELSE date_diff('day', last_patrol_in_selection, $date::DATE)
        END AS days_without_patrol
    FROM dosed
)

SELECT
    $force AS force,
    s.area_code,
    $date::DATE AS date,
    s.selection_id,
    s.planned,
    s.target_minutes,
    s.delivered_minutes,
    s.patrol_minutes,
    s.koper_visits,
    s.longest_visit_minutes,
    $dose_rule AS dose_rule,
    s.dose_met,
    s.status,
    s.days_without_patrol,
    s.last_patrol_date,
    (coalesce(e.delivered_7d, 0) + CASE WHEN s.planned THEN s.delivered_minutes ELSE 0 END)
    / nullif(coalesce(e.target_7d, 0) + CASE WHEN s.has_data THEN s.target_minutes ELSE 0 END, 0) AS ratio_7d,
    (coalesce(e.delivered_28d, 0) + CASE WHEN s.planned THEN s.delivered_minutes ELSE 0 END)
    / nullif(coalesce(e.target_28d, 0) + CASE WHEN s.has_data THEN s.target_minutes ELSE 0 END, 0) AS ratio_28d,
    $computed_at::TIMESTAMP AS computed_at
FROM scored AS s
LEFT JOIN earlier AS e USING (area_code)
ORDER BY s.area_code
