-- Street-level crimes (data.police.uk) and force records, placed in areas by location.
CREATE TABLE IF NOT EXISTS stg_crimes (
    force          VARCHAR NOT NULL,
    source         VARCHAR NOT NULL,
    crime_key      VARCHAR NOT NULL,
    month          DATE NOT NULL,
    occurred_at    TIMESTAMP,
    crime_type     VARCHAR NOT NULL,
    offence_code   VARCHAR,
    knife_flag     BOOLEAN,
    lon            DOUBLE,
    lat            DOUBLE,
    easting        DOUBLE,
    northing       DOUBLE,
    location       VARCHAR,
    file_lsoa_code VARCHAR,
    area_code      VARCHAR,
    source_file    VARCHAR NOT NULL,
    source_row     BIGINT NOT NULL,
    loaded_at      TIMESTAMP
);
COMMENT ON TABLE stg_crimes IS 'One row per accepted crime record; partitioned by (force, source, source_file); the file name identifies the month, and a reload replaces that file''s rows.';
COMMENT ON COLUMN stg_crimes.force IS 'Force slug.';
COMMENT ON COLUMN stg_crimes.source IS 'police_uk (street CSV or API) or force_records (RMS extract).';
COMMENT ON COLUMN stg_crimes.crime_key IS 'Crime ID; for anti-social behaviour (no Crime ID) a hash of file and row.';
COMMENT ON COLUMN stg_crimes.month IS 'First day of the month the crime was recorded in.';
COMMENT ON COLUMN stg_crimes.occurred_at IS 'Occurrence date-time (force records only; data.police.uk has month only).';
COMMENT ON COLUMN stg_crimes.crime_type IS 'data.police.uk crime category (force records: mapped from the offence code).';
COMMENT ON COLUMN stg_crimes.offence_code IS 'Home Office offence code (force records only).';
COMMENT ON COLUMN stg_crimes.knife_flag IS 'Knife or sharp instrument involved (force records only).';
COMMENT ON COLUMN stg_crimes.lon IS 'Longitude, WGS84 (anonymised map point for data.police.uk).';
COMMENT ON COLUMN stg_crimes.lat IS 'Latitude, WGS84.';
COMMENT ON COLUMN stg_crimes.easting IS 'Easting, EPSG:27700, metres.';
COMMENT ON COLUMN stg_crimes.northing IS 'Northing, EPSG:27700, metres.';
COMMENT ON COLUMN stg_crimes.location IS 'Location text as published (e.g. On or near X Street).';
COMMENT ON COLUMN stg_crimes.file_lsoa_code IS 'LSOA code printed in the file (kept for reference; placement uses the location).';
COMMENT ON COLUMN stg_crimes.area_code IS 'Area the point falls in (point in polygon); NULL when outside every area.';
COMMENT ON COLUMN stg_crimes.source_file IS 'Raw file the row came from.';
COMMENT ON COLUMN stg_crimes.source_row IS 'Row number in the raw file (1 = first data row).';
COMMENT ON COLUMN stg_crimes.loaded_at IS 'When the row was loaded (UTC).';
