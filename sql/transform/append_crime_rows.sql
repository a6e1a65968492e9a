-- Append rows shaped like the view stg_crimes (temp view crime_rows_in: force, source, crime_key, month,
-- occurred_at, crime_type, offence_code, knife_flag, lon, lat, easting, northing, location, file_lsoa_code,
-- area_code, source_file, source_row, loaded_at) to stg_crime_files, stg_crime_points and stg_crime_records,
-- keeping the area_code given. Used to migrate a warehouse whose stg_crimes was still a table, and by tests
-- that need crimes in given areas; the loader (police_uk.load_relation) places points itself instead.
-- Runs after append_crime_keys.sql and the collision check.
INSERT INTO stg_crime_files
SELECT
    crime_file_key(force, source, source_file) AS file_id,
    force,
    source,
    source_file,
    loaded_at
FROM (
    SELECT
        force,
        source,
        source_file,
        coalesce(max(loaded_at), now()) AS loaded_at
    FROM crime_rows_in
    GROUP BY ALL
) AS new_files
WHERE NOT EXISTS (
        SELECT 1 FROM stg_crime_files AS f
        WHERE f.force = new_files.force AND f.source = new_files.source AND f.source_file = new_files.source_file
    );
INSERT INTO stg_crime_points
SELECT
    point_key,
    force,
    lon,
    lat,
    easting,
    northing,
    location,
    file_lsoa_code,
    area_code
FROM file_crime_points AS f
WHERE NOT EXISTS (
        SELECT 1 FROM stg_crime_points AS p
        WHERE p.point_key = f.point_key
    );
INSERT INTO stg_crime_records
SELECT
    f.file_id,
    c.source_row,
    CASE WHEN c.crime_key LIKE 'h:%' THEN NULL ELSE c.crime_key END AS crime_id,
    c.month,
    c.occurred_at,
    c.crime_type,
    c.offence_code,
    c.knife_flag,
    c.point_key
FROM crime_rows_keyed AS c
INNER JOIN stg_crime_files AS f USING (force, source, source_file);
DROP VIEW crime_rows_keyed;
DROP TABLE file_crime_points;
