-- One crime file of $force recorded as loaded (a logical file seen before is updated).
MERGE INTO crime_drops AS d
USING (
    SELECT
        $force AS force,
        $source AS source,
        $name AS name
) AS s
    ON d.force = s.force AND d.source = s.source AND d.name = s.name
WHEN MATCHED THEN
    UPDATE
        SET
            month = $month, bytes = $bytes, mtime_ns = $mtime_ns, sha256 = $sha256, api_updated = $api_updated,
            loaded_at = $loaded_at
WHEN NOT MATCHED THEN
    INSERT (force, source, name, month, bytes, mtime_ns, sha256, api_updated, loaded_at)
    VALUES (s.force, s.source, s.name, $month, $bytes, $mtime_ns, $sha256, $api_updated, $loaded_at)
