-- Load one validated crime file into stg_crime_records: crimes_to_load (typed rows, crime_id stripped and
-- empty when there is none, location and LSOA code already NULL when empty) -> one row per crime with the key
-- of its map point (the caller has added the file's new points to stg_crime_points and checked its keys).
-- Parameters: $force, $file_id.
-- The caller deletes the file's old rows first. No ORDER BY: the insert runs in parallel
-- (preserve_insertion_order = false) and nothing reads the records in physical order.
INSERT INTO stg_crime_records
SELECT
    $file_id AS file_id,
    source_row,
    nullif(crime_id, '') AS crime_id,
    month,
    occurred_at,
    crime_type,
    offence_code,
    knife_flag,
    crime_point_key($force, lon, lat, easting, northing, location, file_lsoa_code) AS point_key
FROM crimes_to_load
