-- The patrol dose under capacity: officer-minutes of a day spread over the day's planned hot spots in visits.
CREATE TABLE IF NOT EXISTS dose_plan (
    -- key: (force, date, area_code)
    force VARCHAR NOT NULL,
    date DATE NOT NULL,
    area_code VARCHAR NOT NULL,
    selection_id VARCHAR NOT NULL,
    units INTEGER NOT NULL,
    minutes DOUBLE NOT NULL,
    expected_harm DOUBLE NOT NULL,
    expected_prevented DOUBLE NOT NULL,
    capacity_minutes DOUBLE NOT NULL,
    unit_minutes DOUBLE NOT NULL,
    created_at TIMESTAMP NOT NULL
);
COMMENT ON TABLE dose_plan IS 'One row per planned hot spot per local day: visits (units) and minutes allocated by hotspots plan-dose or the morning plan step when settings.dose_capacity_minutes is set; the day''s minutes never exceed its capacity (docs/targeting.md).';
COMMENT ON COLUMN dose_plan.force IS 'Force slug.';
COMMENT ON COLUMN dose_plan.date IS 'Local calendar date of the allocation.';
COMMENT ON COLUMN dose_plan.area_code IS 'Hot-spot area code (planned for the day).';
COMMENT ON COLUMN dose_plan.selection_id IS 'Hot-spot list in force that day.';
COMMENT ON COLUMN dose_plan.units IS 'Visits of unit_minutes allocated.';
COMMENT ON COLUMN dose_plan.minutes IS 'units x unit_minutes.';
COMMENT ON COLUMN dose_plan.expected_harm IS 'Harm per day of the hot spot over the selection''s look-back window.';
COMMENT ON COLUMN dose_plan.expected_prevented IS 'Harm per day the allocated visits are expected to prevent (diminishing returns per visit).';
COMMENT ON COLUMN dose_plan.capacity_minutes IS 'Officer-minutes available that day.';
COMMENT ON COLUMN dose_plan.unit_minutes IS 'Minutes of one visit (default 15, Koper).';
COMMENT ON COLUMN dose_plan.created_at IS 'When the allocation was made (UTC).';
