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
    computed_at TIMESTAMP
);
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
COMMENT ON COLUMN daily_patrol.computed_at IS 'When the partition was computed (UTC).';
