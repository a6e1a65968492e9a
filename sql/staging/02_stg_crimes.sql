-- Street-level crimes (data.police.uk) and force records, placed in areas by location. Stored as three tables
-- (a crime names its file and its map point instead of repeating their text on every row, which made loading
-- a national year cost more than placing it) and read through the view stg_crimes, one row per crime.

-- One row per loaded file (the unit of loading: a reload replaces the file's crimes under the same file_id).
-- A file's key is a 63-bit hash of its identity (crime_file_key), not max + 1: writers of different forces
-- add files at the same time on a lake, and max + 1 would give two files one key (ducklake#1094).
CREATE OR REPLACE MACRO crime_file_key(FORCE, SOURCE, SOURCE_FILE) AS
(hash(force, source, source_file) >> 1)::BIGINT;
CREATE TABLE IF NOT EXISTS stg_crime_files (
    -- key: (file_id)
    -- unique: (force, source, source_file)
    file_id BIGINT NOT NULL,
    force VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    loaded_at TIMESTAMP NOT NULL
);
COMMENT ON TABLE stg_crime_files IS 'One row per crime file loaded (street CSV, API month or force extract); a reload keeps the file_id and replaces its crimes.';
COMMENT ON COLUMN stg_crime_files.file_id IS 'File key, crime_file_key(force, source, source_file); referenced by stg_crime_records.file_id.';
COMMENT ON COLUMN stg_crime_files.force IS 'Force slug.';
COMMENT ON COLUMN stg_crime_files.source IS 'police_uk (street CSV or API) or force_records (RMS extract).';
COMMENT ON COLUMN stg_crime_files.source_file IS 'Raw file name (the partition key of quarantine and validation_runs too).';
COMMENT ON COLUMN stg_crime_files.loaded_at IS 'When the file was last loaded (UTC).';

-- One row per distinct published location of a force: data.police.uk snaps every crime to one of about 750,000
-- anonymous map points, so a month mostly repeats points already placed, and only new points are placed.
-- A point's key is a 64-bit hash of the force and what was published (crime_point_key), so a crime gets its key
-- without a join; the loader checks every key it uses against the stored point and fails on a collision.
CREATE OR REPLACE MACRO crime_point_key(FORCE, LON, LAT, EASTING, NORTHING, LOCATION, FILE_LSOA_CODE) AS
hash(force, lon, lat, easting, northing, location, file_lsoa_code);
CREATE TABLE IF NOT EXISTS stg_crime_points (
    -- key: (point_key)
    point_key UBIGINT NOT NULL,
    force VARCHAR NOT NULL,
    lon DOUBLE,
    lat DOUBLE,
    easting DOUBLE,
    northing DOUBLE,
    location VARCHAR,
    file_lsoa_code VARCHAR,
    area_code VARCHAR
);
COMMENT ON TABLE stg_crime_points IS 'One row per distinct (coordinates, location text, LSOA code) a force''s crimes were published at, with the area it falls in; replacing the areas places every point again.';
COMMENT ON COLUMN stg_crime_points.point_key IS 'crime_point_key(force, lon, lat, easting, northing, location, file_lsoa_code) (migrated and test rows also hash area_code); referenced by stg_crime_records.point_key.';
COMMENT ON COLUMN stg_crime_points.force IS 'Force slug.';
COMMENT ON COLUMN stg_crime_points.lon IS 'Longitude, WGS84 (anonymised map point for data.police.uk).';
COMMENT ON COLUMN stg_crime_points.lat IS 'Latitude, WGS84.';
COMMENT ON COLUMN stg_crime_points.easting IS 'Easting, EPSG:27700, metres.';
COMMENT ON COLUMN stg_crime_points.northing IS 'Northing, EPSG:27700, metres.';
COMMENT ON COLUMN stg_crime_points.location IS 'Location text as published (e.g. On or near X Street).';
COMMENT ON COLUMN stg_crime_points.file_lsoa_code IS 'LSOA code printed in the file (kept for reference; placement uses the coordinates).';
COMMENT ON COLUMN stg_crime_points.area_code IS 'Area the point falls in (point in polygon; lowest code on a shared edge); NULL outside every area or without coordinates.';

-- One row per accepted crime record.
CREATE TABLE IF NOT EXISTS stg_crime_records (
    file_id BIGINT NOT NULL,
    source_row BIGINT NOT NULL,
    crime_id VARCHAR,
    month DATE NOT NULL,
    occurred_at TIMESTAMP,
    crime_type VARCHAR NOT NULL,
    offence_code VARCHAR,
    knife_flag BOOLEAN,
    point_key UBIGINT NOT NULL
);
COMMENT ON TABLE stg_crime_records IS 'One row per accepted crime record, keyed by (file_id, source_row); read it through the view stg_crimes.';
COMMENT ON COLUMN stg_crime_records.file_id IS 'File the row came from (stg_crime_files).';
COMMENT ON COLUMN stg_crime_records.source_row IS 'Row number in the raw file (1 = first data row).';
COMMENT ON COLUMN stg_crime_records.crime_id IS 'Crime ID as published (force records: the record reference); NULL for anti-social behaviour.';
COMMENT ON COLUMN stg_crime_records.month IS 'First day of the month the crime was recorded in.';
COMMENT ON COLUMN stg_crime_records.occurred_at IS 'Occurrence date-time (force records only).';
COMMENT ON COLUMN stg_crime_records.crime_type IS 'data.police.uk crime category (force records: mapped from the offence code).';
COMMENT ON COLUMN stg_crime_records.offence_code IS 'Home Office offence code (force records only).';
COMMENT ON COLUMN stg_crime_records.knife_flag IS 'Knife or sharp instrument involved (force records only).';
COMMENT ON COLUMN stg_crime_records.point_key IS 'Where the crime was published (stg_crime_points).';

CREATE OR REPLACE VIEW stg_crimes AS
SELECT
    f.force,
    f.source,
    coalesce(r.crime_id, 'h:' || md5(f.source_file || ':' || r.source_row::VARCHAR)) AS crime_key,
    r.month,
    r.occurred_at,
    r.crime_type,
    r.offence_code,
    r.knife_flag,
    p.lon,
    p.lat,
    p.easting,
    p.northing,
    p.location,
    p.file_lsoa_code,
    p.area_code,
    f.source_file,
    r.source_row,
    f.loaded_at
FROM stg_crime_records AS r
INNER JOIN stg_crime_files AS f USING (file_id)
INNER JOIN stg_crime_points AS p USING (point_key);
COMMENT ON VIEW stg_crimes IS 'One row per accepted crime record, placed in areas by location (stg_crime_records with its file and point); partitioned by (force, source, source_file); a reload replaces that file''s rows.';
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
COMMENT ON COLUMN stg_crimes.loaded_at IS 'When the file was loaded (UTC).';
