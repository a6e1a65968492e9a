-- Every hot-spot list ever published, one row per list and hot spot: current and past selections.
CREATE OR REPLACE VIEW selection_history AS
SELECT
    s.force,
    s.selection_id,
    s.effective_from,
    s.effective_to,
    s.effective_to IS NULL AS is_current,
    r.rank,
    r.area_code,
    r.area_name,
    r.events,
    r.harm,
    r.harm_share,
    list_contains(s.added, r.area_code) AS is_new,
    s.created_at
FROM selections AS s
INNER JOIN hotspot_ranking AS r USING (force, selection_id)
WHERE r.selected;
COMMENT ON VIEW selection_history IS 'Current and past hot-spot lists: one row per selection and selected area, with the dates the list was in force.';
COMMENT ON COLUMN selection_history.force IS 'Force slug.';
COMMENT ON COLUMN selection_history.selection_id IS 'The selection (see selections).';
COMMENT ON COLUMN selection_history.effective_from IS 'First day the list was in force.';
COMMENT ON COLUMN selection_history.effective_to IS 'Last day the list was in force; NULL while current.';
COMMENT ON COLUMN selection_history.is_current IS 'True for the list in force now.';
COMMENT ON COLUMN selection_history.rank IS 'Rank by harm under this selection (1 = most harm).';
COMMENT ON COLUMN selection_history.area_code IS 'Hot-spot area code.';
COMMENT ON COLUMN selection_history.area_name IS 'Area name.';
COMMENT ON COLUMN selection_history.events IS 'Counted crimes in the look-back window of this selection.';
COMMENT ON COLUMN selection_history.harm IS 'Harm in the look-back window (CCHI days, count or sqrt CCHI, see selections.params).';
COMMENT ON COLUMN selection_history.harm_share IS 'Share of all areas'' harm in this area.';
COMMENT ON COLUMN selection_history.is_new IS 'True when the area was not a hot spot under the previous list.';
COMMENT ON COLUMN selection_history.created_at IS 'When the list was published (UTC).';
