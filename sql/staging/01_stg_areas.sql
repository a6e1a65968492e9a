-- Area boundaries (LSOAs, grid cells or any polygons a force supplies), in EPSG:27700.
CREATE TABLE IF NOT EXISTS stg_areas (
    -- key: (force, area_code)
    force VARCHAR NOT NULL,
    area_code VARCHAR NOT NULL,
    area_name VARCHAR,
    geom GEOMETRY NOT NULL,
    area_m2 DOUBLE,
    source_file VARCHAR,
    loaded_at TIMESTAMP
);
COMMENT ON TABLE stg_areas IS 'Area boundaries per force in British National Grid (EPSG:27700); one row per area. Reloaded whole when the area file changes.';
COMMENT ON COLUMN stg_areas.force IS 'Force slug, as in data.police.uk file names (e.g. bedfordshire).';
COMMENT ON COLUMN stg_areas.area_code IS 'Area code (LSOA11CD/LSOA21CD, grid cell id or the force''s own code).';
COMMENT ON COLUMN stg_areas.area_name IS 'Area name (LSOA11NM/LSOA21NM or the force''s own name).';
COMMENT ON COLUMN stg_areas.geom IS 'Valid polygon or multipolygon in EPSG:27700 (metres, x = easting).';
COMMENT ON COLUMN stg_areas.area_m2 IS 'Area of the polygon in square metres.';
COMMENT ON COLUMN stg_areas.source_file IS 'File the boundary was read from.';
COMMENT ON COLUMN stg_areas.loaded_at IS 'When the row was loaded (UTC).';
