-- Keys of temp table file_crime_points that stand for two different published points: two in the file, or one
-- in the file and another already stored. A 64-bit hash makes this about a one-in-10^7 event for a force's
-- lifetime of points; the loader fails rather than give a crime another point's location.
SELECT point_key FROM file_crime_points
GROUP BY point_key
HAVING count(*) > 1
UNION ALL
SELECT f.point_key
FROM file_crime_points AS f
INNER JOIN stg_crime_points AS p USING (point_key)
WHERE (f.lon, f.lat, f.easting, f.northing, f.location, f.file_lsoa_code)
    IS DISTINCT FROM (p.lon, p.lat, p.easting, p.northing, p.location, p.file_lsoa_code)
