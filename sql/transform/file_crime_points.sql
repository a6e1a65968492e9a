-- The distinct map points of one file (temp view crimes_to_load, location and LSOA code already NULL when
-- empty) with their keys. Parameter: $force. The loader checks these keys for collisions, places the points the
-- force does not have yet (place_points.sql) and adds them to stg_crime_points.
SELECT DISTINCT
    crime_point_key($force, lon, lat, easting, northing, location, file_lsoa_code) AS point_key,
    lon,
    lat,
    easting,
    northing,
    location,
    file_lsoa_code
FROM crimes_to_load
