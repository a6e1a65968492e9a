-- The map points of crimes_to_load the force does not have yet: distinct (coordinates, location text, LSOA
-- code), NULLs equal (EXCEPT compares NULLs as equal). Parameter: $force. The caller places them
-- (place_points.sql) and appends them to stg_crime_points with new point_ids.
SELECT DISTINCT lon, lat, easting, northing, location, file_lsoa_code FROM crimes_to_load
EXCEPT
SELECT lon, lat, easting, northing, location, file_lsoa_code FROM stg_crime_points WHERE force = $force
