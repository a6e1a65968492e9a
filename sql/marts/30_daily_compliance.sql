-- Each hot spot's delivered dose against its target, per day.
CREATE TABLE IF NOT EXISTS daily_compliance (
    -- key: (force, area_code, date)
    force VARCHAR NOT NULL,
    area_code VARCHAR NOT NULL,
    date DATE NOT NULL,
    selection_id VARCHAR NOT NULL,
    planned BOOLEAN NOT NULL,
    target_minutes DOUBLE NOT NULL,
    delivered_minutes DOUBLE NOT NULL,
    patrol_minutes DOUBLE NOT NULL,
    koper_visits INTEGER NOT NULL,
    longest_visit_minutes DOUBLE,
    dose_rule VARCHAR,
    dose_met BOOLEAN,
    status VARCHAR NOT NULL,
    days_without_patrol INTEGER NOT NULL,
    last_patrol_date DATE,
    ratio_7d DOUBLE,
    ratio_28d DOUBLE,
    computed_at TIMESTAMP
);
-- A warehouse made before these columns existed gets them here (NULL on its old rows until their days are rebuilt).
ALTER TABLE daily_compliance ADD COLUMN IF NOT EXISTS longest_visit_minutes DOUBLE;
ALTER TABLE daily_compliance ADD COLUMN IF NOT EXISTS dose_rule VARCHAR;
ALTER TABLE daily_compliance ADD COLUMN IF NOT EXISTS dose_met BOOLEAN;
COMMENT ON TABLE daily_compliance IS 'One row per hot spot per local day: delivered patrol minutes inside the patrol window against the target.';
COMMENT ON COLUMN daily_compliance.force IS 'Force slug.';
COMMENT ON COLUMN daily_compliance.area_code IS 'Hot-spot area code.';
COMMENT ON COLUMN daily_compliance.date IS 'Local calendar date.';
COMMENT ON COLUMN daily_compliance.selection_id IS 'Hot-spot list in force that day.';
COMMENT ON COLUMN daily_compliance.planned IS 'True when the hot spot was in the day''s plan (all hot spots when no randomised plan is used).';
COMMENT ON COLUMN daily_compliance.target_minutes IS 'Target minutes inside the patrol window (0 when not planned).';
COMMENT ON COLUMN daily_compliance.delivered_minutes IS 'Patrol minutes inside the patrol window (daily_patrol.window_minutes).';
COMMENT ON COLUMN daily_compliance.patrol_minutes IS 'Patrol minutes over the whole day.';
COMMENT ON COLUMN daily_compliance.koper_visits IS 'Visits of at least koper_minutes (default 10) over the whole day.';
COMMENT ON COLUMN daily_compliance.longest_visit_minutes IS 'The longest continuous visit inside the patrol window (daily_patrol.longest_visit_minutes; 0 without patrol; NULL on rows built before the column existed).';
COMMENT ON COLUMN daily_compliance.dose_rule IS 'The dose rule dose_met was decided by (setting dose_rule): total (delivered_minutes >= the full target) or continuous (one visit inside the window of at least dose_visit_minutes, Koper); NULL on rows built before the column existed.';
COMMENT ON COLUMN daily_compliance.dose_met IS 'Has the hot spot had its dose this day, under dose_rule, against its full target (also on not_planned rows: a control hot spot dosed anyway)? Decided by the macro dose_met (sql/marts/29_dose_met.sql), the one owner of the rule; NULL when no_data.';
COMMENT ON COLUMN daily_compliance.status IS 'met (dose_met: the dose under dose_rule), none (no patrol at all that day), under (some patrol, dose not met), not_planned (not drawn in the day''s plan: target 0, no under_target alert), or no_data (the force had no GPS data at all that day: patrol unknown, no under_target or no_patrol alert, left out of the ratios).';
COMMENT ON COLUMN daily_compliance.days_without_patrol IS 'Consecutive days up to and including this one with no patrol at all (0 when patrolled), counted from the selection''s effective_from at the earliest; a no_data day counts (no patrol is on record).';
COMMENT ON COLUMN daily_compliance.last_patrol_date IS 'Most recent day with any patrol, on or before this day (also before the selection began).';
COMMENT ON COLUMN daily_compliance.ratio_7d IS 'Sum of delivered / sum of target over the planned days among the 7 days ending this day (NULL when the target sum is 0); earlier days come from their own rows.';
COMMENT ON COLUMN daily_compliance.ratio_28d IS 'As ratio_7d over the 28 days ending this day.';
COMMENT ON COLUMN daily_compliance.computed_at IS 'When the row was computed (UTC).';
