-- Load one validated crime file into stg_crime_records: crimes_to_load (typed rows, location and LSOA code
-- already NULL when empty) -> one row per crime, keyed to its map point in stg_crime_points (the caller has
-- added the file's new points first, so every row finds exactly one). Parameters: $force, $file_id.
-- The caller deletes the file's old rows first. No ORDER BY: the insert runs in parallel
-- (preserve_insertion_order = false) and nothing reads the records in physical order.
INSERT INTO stg_crime_records
SELECT
    $file_id AS file_id,
    c.source_row,
    nullif(trim(c.crime_id), '') AS crime_id,
    c.month,
    c.occurred_at,
    c.crime_type,
    c.offence_code,
    c.knife_flag,
    p.point_id
FROM crimes_to_load c
JOIN stg_crime_points p
  ON p.force = $force
 AND c.easting IS NOT DISTINCT FROM p.easting
 AND c.northing IS NOT DISTINCT FROM p.northing
 AND c.lon IS NOT DISTINCT FROM p.lon
 AND c.lat IS NOT DISTINCT FROM p.lat
 AND c.location IS NOT DISTINCT FROM p.location
 AND c.file_lsoa_code IS NOT DISTINCT FROM p.file_lsoa_code
