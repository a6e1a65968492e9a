-- Append rows shaped like the view stg_crimes (temp view crime_rows_in: force, source, crime_key, month,
-- occurred_at, crime_type, offence_code, knife_flag, lon, lat, easting, northing, location, file_lsoa_code,
-- area_code, source_file, source_row, loaded_at) to stg_crime_files, stg_crime_points and stg_crime_records,
-- keeping the area_code given. Used to migrate a warehouse whose stg_crimes was still a table, and by tests
-- that need crimes in given areas. The loader (police_uk.load_relation) places points itself instead.
INSERT INTO stg_crime_files
SELECT (SELECT coalesce(max(file_id), 0) FROM stg_crime_files) + row_number() OVER (ORDER BY force, source, source_file),
       force, source, source_file, loaded_at
FROM (
    SELECT force, source, source_file, coalesce(max(loaded_at), now()) AS loaded_at
    FROM crime_rows_in
    GROUP BY ALL
) new_files
WHERE NOT EXISTS (
    SELECT 1 FROM stg_crime_files f
    WHERE f.force = new_files.force AND f.source = new_files.source AND f.source_file = new_files.source_file
);

INSERT INTO stg_crime_points
SELECT (SELECT coalesce(max(point_id), 0) FROM stg_crime_points)
           + row_number() OVER (ORDER BY force, easting, northing, lon, lat, location, file_lsoa_code, area_code),
       *
FROM (
    SELECT force, lon, lat, easting, northing, location, file_lsoa_code, area_code FROM crime_rows_in
    EXCEPT
    SELECT force, lon, lat, easting, northing, location, file_lsoa_code, area_code FROM stg_crime_points
) new_points;

INSERT INTO stg_crime_records
SELECT f.file_id, c.source_row, CASE WHEN c.crime_key LIKE 'h:%' THEN NULL ELSE c.crime_key END, c.month,
       c.occurred_at, c.crime_type, c.offence_code, c.knife_flag, p.point_id
FROM crime_rows_in c
JOIN stg_crime_files f USING (force, source, source_file)
JOIN stg_crime_points p
  ON p.force = c.force
 AND c.easting IS NOT DISTINCT FROM p.easting
 AND c.northing IS NOT DISTINCT FROM p.northing
 AND c.lon IS NOT DISTINCT FROM p.lon
 AND c.lat IS NOT DISTINCT FROM p.lat
 AND c.location IS NOT DISTINCT FROM p.location
 AND c.file_lsoa_code IS NOT DISTINCT FROM p.file_lsoa_code
 AND c.area_code IS NOT DISTINCT FROM p.area_code;
