-- The schema version this warehouse was migrated to: one row, written by `hotspots migrate` (warehouse.migrate).
CREATE TABLE IF NOT EXISTS schema_version (
    models_hash VARCHAR NOT NULL,
    migrated_at TIMESTAMP NOT NULL
);
COMMENT ON TABLE schema_version IS 'One row: the sql/ models this warehouse was last migrated to (`hotspots migrate`). Writers refuse a warehouse whose hash differs from the checkout''s.';
COMMENT ON COLUMN schema_version.models_hash IS 'sha256 (16 hex) of the sql/staging and sql/marts files applied, names and contents, in order.';
COMMENT ON COLUMN schema_version.migrated_at IS 'When the migration ran, UTC.';
