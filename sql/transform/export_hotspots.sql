-- current_hotspots for export, with the geometry as WKB in EPSG:4326 (x = longitude). Parameter: $force (NULL for
-- every force).
SELECT
    force,
    area_code,
    area_name,
    rank,
    events,
    harm,
    harm_share,
    selection_id,
    strftime(effective_from, '%Y-%m-%d') AS effective_from,
    st_aswkb(st_transform(geom, 'EPSG:27700', 'EPSG:4326', always_xy := TRUE)) AS wkb
FROM current_hotspots
WHERE $force IS NULL OR force = $force
ORDER BY force, rank
