-- Load one validated crime file into stg_crimes: crimes_to_load (a placed relation from place_points.sql) ->
-- typed rows. Parameters: $force, $source, $source_file. The caller deletes the file's old rows first.
-- No ORDER BY: the insert runs in parallel (preserve_insertion_order = false) and nothing reads stg_crimes
-- in physical order (every query that needs an order says ORDER BY).
INSERT INTO stg_crimes
SELECT
    $force AS force,
    $source AS source,
    coalesce(nullif(trim(crime_id), ''), 'h:' || md5($source_file || ':' || source_row::VARCHAR)) AS crime_key,
    month,
    occurred_at,
    crime_type,
    offence_code,
    knife_flag,
    lon,
    lat,
    easting,
    northing,
    nullif(location, '') AS location,
    nullif(file_lsoa_code, '') AS file_lsoa_code,
    area_code,
    $source_file AS source_file,
    source_row,
    now() AS loaded_at
FROM crimes_to_load
