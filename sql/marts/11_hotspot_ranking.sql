-- Every area ranked by harm under a selection.
CREATE TABLE IF NOT EXISTS hotspot_ranking (
    -- key: (force, selection_id, area_code)
    force VARCHAR NOT NULL,
    selection_id VARCHAR NOT NULL,
    area_code VARCHAR NOT NULL,
    area_name VARCHAR,
    events BIGINT NOT NULL,
    harm DOUBLE NOT NULL,
    harm_share DOUBLE NOT NULL,
    cumulative_share DOUBLE NOT NULL,
    rank INTEGER NOT NULL,
    selected BOOLEAN NOT NULL
);
COMMENT ON TABLE hotspot_ranking IS 'All areas ranked by harm for each selection; selected = in the hot-spot list. Ties broken by events, then area code.';
COMMENT ON COLUMN hotspot_ranking.force IS 'Force slug.';
COMMENT ON COLUMN hotspot_ranking.selection_id IS 'The selection (see selections).';
COMMENT ON COLUMN hotspot_ranking.area_code IS 'Area code.';
COMMENT ON COLUMN hotspot_ranking.area_name IS 'Area name.';
COMMENT ON COLUMN hotspot_ranking.events IS 'Counted crimes in the look-back window (after the crime-type filter).';
COMMENT ON COLUMN hotspot_ranking.harm IS 'Sum of weights (CCHI days, count or sqrt CCHI).';
COMMENT ON COLUMN hotspot_ranking.harm_share IS 'harm / total harm of all areas.';
COMMENT ON COLUMN hotspot_ranking.cumulative_share IS 'Share of harm in this and all higher-ranked areas.';
COMMENT ON COLUMN hotspot_ranking.rank IS '1 = most harm.';
COMMENT ON COLUMN hotspot_ranking.selected IS 'True when the area is a hot spot under this selection.';
