-- First step of warehouse.append_crime_rows: key the rows of temp view crime_rows_in (columns of the view stg_crimes)
-- and list their distinct points in temp table file_crime_points, which the caller checks with
-- crime_point_collisions.sql before the rows are written. The key also hashes area_code, because these rows
-- keep the area they come with instead of being placed.
CREATE OR REPLACE TEMP VIEW crime_rows_keyed AS
SELECT
    *,
    hash(crime_point_key(force, lon, lat, easting, northing, location, file_lsoa_code), area_code) AS point_key
FROM crime_rows_in;
CREATE OR REPLACE TEMP TABLE file_crime_points AS
SELECT DISTINCT
    point_key,
    force,
    lon,
    lat,
    easting,
    northing,
    location,
    file_lsoa_code,
    area_code
FROM crime_rows_keyed;
