-- Contamination of a randomised plan: patrol on hot spots not drawn that day, per force and local day.
CREATE OR REPLACE VIEW daily_contamination AS
SELECT
    force,
    date,
    count(*) FILTER (WHERE planned) AS planned_hotspots,
    count(*) FILTER (WHERE NOT planned) AS unplanned_hotspots,
    count(*) FILTER (WHERE NOT planned AND status <> 'no_data' AND delivered_minutes > 0) AS contaminated_hotspots,
    coalesce(sum(delivered_minutes) FILTER (WHERE planned AND status <> 'no_data'), 0) AS planned_minutes,
    coalesce(sum(delivered_minutes) FILTER (WHERE NOT planned AND status <> 'no_data'), 0) AS contamination_minutes,
    coalesce(sum(delivered_minutes) FILTER (WHERE NOT planned AND status <> 'no_data'), 0)
    / nullif(coalesce(sum(delivered_minutes) FILTER (WHERE status <> 'no_data'), 0), 0) AS contamination_share
FROM daily_compliance
GROUP BY force, date;
COMMENT ON VIEW daily_contamination IS 'Per force and local day: patrol minutes inside the window on hot spots not drawn that day (a randomised plan''s contamination: the control place-days got some treatment). All zero without a plan. Days without GPS data (no_data) count no minutes.';
COMMENT ON COLUMN daily_contamination.force IS 'Force slug.';
COMMENT ON COLUMN daily_contamination.date IS 'Local calendar date.';
COMMENT ON COLUMN daily_contamination.planned_hotspots IS 'Hot spots drawn for patrol that day (all of them without a plan).';
COMMENT ON COLUMN daily_contamination.unplanned_hotspots IS 'Hot spots not drawn that day.';
COMMENT ON COLUMN daily_contamination.contaminated_hotspots IS 'Hot spots not drawn that day with patrol minutes inside the window.';
COMMENT ON COLUMN daily_contamination.planned_minutes IS 'Patrol minutes inside the window on the drawn hot spots.';
COMMENT ON COLUMN daily_contamination.contamination_minutes IS 'Patrol minutes inside the window on the hot spots not drawn (daily_compliance.delivered_minutes of its not_planned rows).';
COMMENT ON COLUMN daily_contamination.contamination_share IS 'contamination_minutes / all patrol minutes inside the window on hot spots; NULL when there were none.';
