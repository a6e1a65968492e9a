-- Daily patrol dose per area, from GPS.
CREATE TABLE IF NOT EXISTS daily_patrol (
    -- key: (force, area_code, date)
    force VARCHAR NOT NULL,
    area_code VARCHAR NOT NULL,
    date DATE NOT NULL,
    patrol_minutes DOUBLE NOT NULL,
    officer_minutes DOUBLE NOT NULL,
    visits INTEGER NOT NULL,
    koper_visits INTEGER NOT NULL,
    devices INTEGER NOT NULL,
    window_minutes DOUBLE NOT NULL,
    longest_visit_minutes DOUBLE,
    computed_at TIMESTAMP
);
-- A warehouse made before the column existed gets it here (NULL on its old rows until their days are recomputed).
ALTER TABLE daily_patrol ADD COLUMN IF NOT EXISTS longest_visit_minutes DOUBLE;
COMMENT ON TABLE daily_patrol IS 'Police presence per area (polygon + buffer) per local day; only areas with presence have rows. Recomputed per (force, date) partition.';
COMMENT ON COLUMN daily_patrol.force IS 'Force slug.';
COMMENT ON COLUMN daily_patrol.area_code IS 'Area code.';
COMMENT ON COLUMN daily_patrol.date IS 'Local calendar date (settings.timezone).';
COMMENT ON COLUMN daily_patrol.patrol_minutes IS 'Minutes with at least one device present (union over devices).';
COMMENT ON COLUMN daily_patrol.officer_minutes IS 'Minutes of presence summed over devices.';
COMMENT ON COLUMN daily_patrol.visits IS 'Continuous presence episodes (any device); a gap longer than max_gap ends one.';
COMMENT ON COLUMN daily_patrol.koper_visits IS 'Visits of at least koper_minutes (default 10).';
COMMENT ON COLUMN daily_patrol.devices IS 'Distinct devices present.';
COMMENT ON COLUMN daily_patrol.window_minutes IS 'patrol_minutes inside the patrol window (default 14:00-24:00 local).';
COMMENT ON COLUMN daily_patrol.longest_visit_minutes IS 'The longest continuous visit inside the patrol window, in minutes (0 when none reaches the window): one visit''s stretch inside it (a gap longer than max_gap ends a visit; split at local midnight). The continuous dose rule (dose_rule=continuous) compares it with dose_visit_minutes; NULL only on rows computed before the column existed.';
COMMENT ON COLUMN daily_patrol.computed_at IS 'When the partition was computed (UTC).';
