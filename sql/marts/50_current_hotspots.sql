CREATE OR REPLACE VIEW current_hotspots AS
SELECT
    r.force,
    r.area_code,
    r.area_name,
    r.rank,
    r.events,
    r.harm,
    r.harm_share,
    s.selection_id,
    s.effective_from,
    a.geom
FROM selections AS s
INNER JOIN hotspot_ranking AS r USING (force, selection_id)
LEFT JOIN stg_areas AS a USING (force, area_code)
WHERE s.effective_to IS NULL AND r.selected;
COMMENT ON VIEW current_hotspots IS 'The hot spots in force now, per force, with rank, harm and geometry (EPSG:27700).';
