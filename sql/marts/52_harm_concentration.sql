CREATE OR REPLACE VIEW harm_concentration AS
SELECT
    force,
    selection_id,
    rank,
    area_code,
    selected,
    rank / count(*) OVER (PARTITION BY force, selection_id) AS area_share,
    cumulative_share AS harm_share
FROM hotspot_ranking;
COMMENT ON VIEW harm_concentration IS 'Lorenz (concentration) curve points per selection: share of areas (ranked by harm) against cumulative share of harm.';
