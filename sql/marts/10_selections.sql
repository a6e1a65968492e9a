-- Published hot-spot lists, versioned with effective dates.
CREATE TABLE IF NOT EXISTS selections (
    -- key: (force, selection_id)
    force VARCHAR NOT NULL,
    selection_id VARCHAR NOT NULL,
    effective_from DATE NOT NULL,
    effective_to DATE,
    params JSON NOT NULL,
    hotspots VARCHAR[] NOT NULL,
    added VARCHAR[] NOT NULL,
    removed VARCHAR[] NOT NULL,
    created_at TIMESTAMP
);
COMMENT ON TABLE selections IS 'One row per published hot-spot list; a new row only when the list changes. effective_to is NULL for the current list.';
COMMENT ON COLUMN selections.force IS 'Force slug.';
COMMENT ON COLUMN selections.selection_id IS 'Deterministic id: hash of the parameters and the selected area codes.';
COMMENT ON COLUMN selections.effective_from IS 'First day the list is in force (the day after the last month counted).';
COMMENT ON COLUMN selections.effective_to IS 'Last day in force; NULL while current.';
COMMENT ON COLUMN selections.params IS 'Selection parameters: weights, crime types, look-back, budget, minimum events, months counted.';
COMMENT ON COLUMN selections.hotspots IS 'Selected area codes in rank order.';
COMMENT ON COLUMN selections.added IS 'Area codes new since the previous list.';
COMMENT ON COLUMN selections.removed IS 'Area codes dropped since the previous list.';
COMMENT ON COLUMN selections.created_at IS 'When the list was published (UTC).';
