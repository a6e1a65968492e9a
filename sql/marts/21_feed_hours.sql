-- What the GPS feed delivered per force and local hour (feed health; docs/patrol.md, Feed health).
CREATE TABLE IF NOT EXISTS feed_hours (
    -- key: (force, hour_start_utc)
    force VARCHAR NOT NULL,
    date DATE NOT NULL,
    local_hour INTEGER NOT NULL,
    hour_start_utc TIMESTAMP NOT NULL,
    pings BIGINT NOT NULL,
    devices INTEGER NOT NULL,
    files INTEGER NOT NULL,
    computed_at TIMESTAMP
);
COMMENT ON TABLE feed_hours IS 'Accepted GPS pings, reporting devices and ping files per force and local hour; only hours with pings have rows. Recomputed per (force, date) with daily_patrol; the feed_missing checks compare each hour with its 28-day norm.';
COMMENT ON COLUMN feed_hours.force IS 'Force slug.';
COMMENT ON COLUMN feed_hours.date IS 'Local calendar date.';
COMMENT ON COLUMN feed_hours.local_hour IS 'Local clock hour (0-23) the hour starts at.';
COMMENT ON COLUMN feed_hours.hour_start_utc IS 'Start of the hour in UTC (a clock change gives a day of 23 or 25 hours).';
COMMENT ON COLUMN feed_hours.pings IS 'Accepted pings in the hour.';
COMMENT ON COLUMN feed_hours.devices IS 'Distinct (pseudonymised) devices reporting in the hour.';
COMMENT ON COLUMN feed_hours.files IS 'Distinct ping files the hour''s pings came from.';
COMMENT ON COLUMN feed_hours.computed_at IS 'When the row was computed (UTC).';
