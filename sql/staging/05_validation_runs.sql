-- One row per validated file: the Great Expectations outcome and the row accounting.
CREATE TABLE IF NOT EXISTS validation_runs (
    force VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    suite VARCHAR NOT NULL,
    success BOOLEAN NOT NULL,
    rows_read BIGINT NOT NULL,
    rows_loaded BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    results JSON,
    validated_at TIMESTAMP
);
COMMENT ON TABLE validation_runs IS 'Great Expectations results per input file; rows_read = rows_loaded + rows_quarantined. Latest row per file wins.';
COMMENT ON COLUMN validation_runs.force IS 'Force slug.';
COMMENT ON COLUMN validation_runs.source IS 'police_uk, force_records, avl or areas.';
COMMENT ON COLUMN validation_runs.source_file IS 'Validated file.';
COMMENT ON COLUMN validation_runs.suite IS 'Expectation suite name.';
COMMENT ON COLUMN validation_runs.success IS 'True when every expectation met its mostly threshold.';
COMMENT ON COLUMN validation_runs.rows_read IS 'Data rows read from the file.';
COMMENT ON COLUMN validation_runs.rows_loaded IS 'Rows loaded to staging.';
COMMENT ON COLUMN validation_runs.rows_quarantined IS 'Rows sent to quarantine.';
COMMENT ON COLUMN validation_runs.results IS 'Per expectation: type, column, success, unexpected count.';
COMMENT ON COLUMN validation_runs.validated_at IS 'When validation ran (UTC).';
