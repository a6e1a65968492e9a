-- Place points in areas: point in polygon in EPSG:27700 (DuckDB SPATIAL_JOIN, R-tree built on the fly).
-- Input: temp view points_to_place with _place_id (unique per row), easting, northing and any other columns
-- (but no area_code). Parameter $force. Output: every input row once, plus area_code (NULL when the point is
-- outside every area or has no coordinates). A point on a shared boundary goes to the lowest area_code.
WITH areas AS (
    SELECT area_code, geom FROM stg_areas WHERE force = $force
),
points AS (
    SELECT *, ST_Point(easting, northing) AS _pt FROM points_to_place
)
SELECT points.* EXCLUDE (_pt), areas.area_code
FROM points
LEFT JOIN areas ON ST_Intersects(areas.geom, points._pt)
QUALIFY row_number() OVER (PARTITION BY points._place_id ORDER BY areas.area_code) = 1
