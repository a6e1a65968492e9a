-- AVL / radio GPS pings, pseudonymised at ingest.
CREATE TABLE IF NOT EXISTS stg_pings (
    force VARCHAR NOT NULL,
    device_key VARCHAR NOT NULL,
    ts_utc TIMESTAMP NOT NULL,
    local_date DATE NOT NULL,
    easting DOUBLE NOT NULL,
    northing DOUBLE NOT NULL,
    speed_kmh DOUBLE,
    unit_type VARCHAR,
    source_file VARCHAR NOT NULL,
    loaded_at TIMESTAMP
);
COMMENT ON TABLE stg_pings IS 'Accepted GPS pings; one row per device and time (duplicates removed). Partitioned by (force, source_file): reloading a file replaces its rows.';
COMMENT ON COLUMN stg_pings.force IS 'Force slug.';
COMMENT ON COLUMN stg_pings.device_key IS 'Pseudonym of the device id: HMAC-SHA256 with the secret pseudonym key, 16 hex characters. Raw ids never enter the warehouse.';
COMMENT ON COLUMN stg_pings.ts_utc IS 'Ping time in UTC.';
COMMENT ON COLUMN stg_pings.local_date IS 'Local calendar date of the ping (settings.timezone).';
COMMENT ON COLUMN stg_pings.easting IS 'Easting, EPSG:27700, metres.';
COMMENT ON COLUMN stg_pings.northing IS 'Northing, EPSG:27700, metres.';
COMMENT ON COLUMN stg_pings.speed_kmh IS 'Reported speed in km/h, when the unit sends one.';
COMMENT ON COLUMN stg_pings.unit_type IS 'vehicle or foot, when known.';
COMMENT ON COLUMN stg_pings.source_file IS 'Raw file the ping came from.';
COMMENT ON COLUMN stg_pings.loaded_at IS 'When the row was loaded (UTC).';
