-- Rows that failed validation, never silently dropped.
CREATE TABLE IF NOT EXISTS quarantine (
    force VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    source_row BIGINT NOT NULL,
    reason VARCHAR NOT NULL,
    raw_row JSON,
    quarantined_at TIMESTAMP
);
COMMENT ON TABLE quarantine IS 'Input rows rejected by validation, with the raw row and the reason. For every file: rows read = rows loaded + rows quarantined.';
COMMENT ON COLUMN quarantine.force IS 'Force slug.';
COMMENT ON COLUMN quarantine.source IS 'police_uk, force_records, avl or areas.';
COMMENT ON COLUMN quarantine.source_file IS 'Raw file the row came from.';
COMMENT ON COLUMN quarantine.source_row IS 'Row number in the file (1 = first data row).';
COMMENT ON COLUMN quarantine.reason IS 'Why the row was rejected: the failed expectation or rule, e.g. missing_coordinates, outside_force_area.';
COMMENT ON COLUMN quarantine.raw_row IS 'The row as read, all columns as text (device ids pseudonymised).';
COMMENT ON COLUMN quarantine.quarantined_at IS 'When the row was quarantined (UTC).';
