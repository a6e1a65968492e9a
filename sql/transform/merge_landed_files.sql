-- One landed ping file of $force's $day folder recorded as loaded (a file seen before is updated).
MERGE INTO landed_files AS f
USING (
    SELECT
        $force AS force,
        'avl' AS source,
        $day::DATE AS day,
        $name AS name
) AS s
    ON f.force = s.force AND f.source = s.source AND f.day = s.day AND f.name = s.name
WHEN MATCHED THEN UPDATE SET bytes = $bytes, mtime_ns = $mtime_ns, sha256 = $sha256, loaded_at = $loaded_at
WHEN NOT MATCHED THEN
    INSERT (force, source, day, name, bytes, mtime_ns, sha256, loaded_at)
    VALUES (s.force, s.source, s.day, s.name, $bytes, $mtime_ns, $sha256, $loaded_at)
