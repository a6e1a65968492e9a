-- Every ping file loaded, by its logical identity (force, source, day folder, name): the landing sweep finds
-- files that arrived or changed after their day was processed.
CREATE TABLE IF NOT EXISTS landed_files (
    -- key: (force, source, day, name)
    force VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    day DATE NOT NULL,
    name VARCHAR NOT NULL,
    bytes BIGINT NOT NULL,
    mtime_ns BIGINT NOT NULL,
    sha256 VARCHAR NOT NULL,
    loaded_at TIMESTAMP NOT NULL
);
COMMENT ON TABLE landed_files IS 'Landed files as last loaded, one row per logical file (force, source, day folder, name): the landing sweep (sweep_landing DAG) reloads a processed day when a file is new or its size or modification time changed.';
COMMENT ON COLUMN landed_files.force IS 'Force slug.';
COMMENT ON COLUMN landed_files.source IS 'avl (GPS pings).';
COMMENT ON COLUMN landed_files.day IS 'UTC day of the landing folder (landing/<force>/avl/YYYY-MM-DD).';
COMMENT ON COLUMN landed_files.name IS 'File name in the folder.';
COMMENT ON COLUMN landed_files.bytes IS 'Size of the landed file when loaded.';
COMMENT ON COLUMN landed_files.mtime_ns IS 'Modification time of the landed file when loaded (ns since the epoch).';
COMMENT ON COLUMN landed_files.sha256 IS 'First 12 hex digits of the SHA-256 of the content loaded (the raw copy).';
COMMENT ON COLUMN landed_files.loaded_at IS 'When it was loaded (UTC).';
