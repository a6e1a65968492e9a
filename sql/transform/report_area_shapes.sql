-- The area outlines of a report's map (SVG paths, simplified to half a pixel) inside its envelope, with a label
-- point. Parameters: $force, $tolerance (metres), $xmin, $ymin, $xmax, $ymax (EPSG:27700).
SELECT
    area_code,
    coalesce(area_name, '') AS area_name,
    st_assvg(st_simplifypreservetopology(geom, $tolerance), FALSE, 1) AS path,
    st_x(st_pointonsurface(geom)) AS label_x,
    -st_y(st_pointonsurface(geom)) AS label_y
FROM stg_areas
WHERE force = $force AND st_intersects(geom, st_makeenvelope($xmin, $ymin, $xmax, $ymax))
ORDER BY area_code
