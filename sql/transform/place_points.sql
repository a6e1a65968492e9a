-- Place points in areas: point in polygon in EPSG:27700 (DuckDB SPATIAL_JOIN, R-tree built on the fly).
-- Input: temp view points_to_place with easting, northing and any other columns (but no area_code).
-- The force is the session variable hotspots_place_force (SET VARIABLE: a parameter would make the Python
-- relation run at once and hold every row in memory instead of streaming into the caller's INSERT).
-- Output: every input row once, plus area_code (NULL when the point is outside every area or has no
-- coordinates). A point on a shared boundary goes to the lowest area_code.
-- Each distinct coordinate pair is placed once and the area joined back to every row: data.police.uk snaps
-- crimes to about 750,000 anonymous map points, so most rows repeat a point already placed.
WITH areas AS (
    SELECT
        area_code,
        geom
    FROM stg_areas
    WHERE force = getvariable('hotspots_place_force')
),

coords AS (
    SELECT DISTINCT
        easting,
        northing
    FROM points_to_place
    WHERE easting IS NOT NULL AND northing IS NOT NULL
),

located AS (
    SELECT
        coords.easting,
        coords.northing,
        min(areas.area_code) AS area_code
    FROM coords
    INNER JOIN areas ON st_intersects(areas.geom, st_point(coords.easting, coords.northing))
    GROUP BY coords.easting, coords.northing
)

SELECT
    points_to_place.*,
    located.area_code
FROM points_to_place
LEFT JOIN located ON points_to_place.easting = located.easting AND points_to_place.northing = located.northing
