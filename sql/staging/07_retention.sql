-- What retention removed (hotspots.retention), and the daily ping counts kept after the pings themselves are gone.
CREATE TABLE IF NOT EXISTS retention_runs (
    force VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    cutoff DATE NOT NULL,
    removed BIGINT NOT NULL,
    detail VARCHAR,
    ran_at TIMESTAMP NOT NULL
);
COMMENT ON TABLE retention_runs IS 'One row per retention rule applied per force and run: the audit trail of what was deleted, when, under which limit (docs/privacy.md).';
COMMENT ON COLUMN retention_runs.force IS 'Force slug.';
COMMENT ON COLUMN retention_runs.kind IS 'raw_ping_files (landing/ and raw/ day folders, raw device ids), pings (stg_pings rows) or quarantine (quarantine rows).';
COMMENT ON COLUMN retention_runs.cutoff IS 'Everything dated before this day was removed; this day and later were kept.';
COMMENT ON COLUMN retention_runs.removed IS 'Files (raw_ping_files) or rows removed.';
COMMENT ON COLUMN retention_runs.detail IS 'The day folders removed (raw_ping_files) or the local dates whose pings were removed.';
COMMENT ON COLUMN retention_runs.ran_at IS 'When the rule was applied (UTC).';

CREATE TABLE IF NOT EXISTS retired_ping_days (
    -- key: (force, local_date)
    force VARCHAR NOT NULL,
    local_date DATE NOT NULL,
    pings BIGINT NOT NULL,
    devices BIGINT NOT NULL,
    retired_at TIMESTAMP NOT NULL
);
COMMENT ON TABLE retired_ping_days IS 'Daily aggregate of the pings retention removed from stg_pings: the day had GPS data (compliance stays none or under, not no_data) without keeping any track.';
COMMENT ON COLUMN retired_ping_days.force IS 'Force slug.';
COMMENT ON COLUMN retired_ping_days.local_date IS 'Local calendar date of the removed pings.';
COMMENT ON COLUMN retired_ping_days.pings IS 'Pings removed for that day.';
COMMENT ON COLUMN retired_ping_days.devices IS 'Distinct devices among them.';
COMMENT ON COLUMN retired_ping_days.retired_at IS 'When the pings were removed (UTC).';
