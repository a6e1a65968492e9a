-- Every crime drop loaded, by its logical identity (force, source, name): ingest_crime loads a month or an
-- extract again only when it is new or its content changed (a late or republished month), never twice the same.
CREATE TABLE IF NOT EXISTS crime_drops (
    -- key: (force, source, name)
    force VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    month DATE,
    bytes BIGINT NOT NULL,
    mtime_ns BIGINT NOT NULL,
    sha256 VARCHAR NOT NULL,
    api_updated DATE,
    loaded_at TIMESTAMP NOT NULL
);
COMMENT ON TABLE crime_drops IS 'Crime files as last loaded, one row per logical file (force, source, name): a street CSV of landing/<force>/crime/YYYY-MM/, a month fetched from the data.police.uk API, or a force records extract of landing/<force>/records/. ingest_crime reloads one only when it is new or its content changed; the earlier raw copy is kept under versions/.';
COMMENT ON COLUMN crime_drops.force IS 'Force slug.';
COMMENT ON COLUMN crime_drops.source IS 'street_file (data.police.uk archive CSV), police_api (a month fetched from the API) or force_records (RMS extract).';
COMMENT ON COLUMN crime_drops.name IS 'File name (the source_file of stg_crime_files).';
COMMENT ON COLUMN crime_drops.month IS 'First day of the month the file holds (street files and API months); NULL for a force records extract.';
COMMENT ON COLUMN crime_drops.bytes IS 'Size of the file when loaded.';
COMMENT ON COLUMN crime_drops.mtime_ns IS 'Modification time of the landed file when loaded (ns since the epoch).';
COMMENT ON COLUMN crime_drops.sha256 IS 'First 12 hex digits of the SHA-256 of the content loaded (the raw copy).';
COMMENT ON COLUMN crime_drops.api_updated IS 'For an API month: the API''s crime-last-updated month when it was fetched; a later publication fetches it again to catch a republished month.';
COMMENT ON COLUMN crime_drops.loaded_at IS 'When it was last loaded (UTC).';
