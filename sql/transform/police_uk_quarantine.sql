-- The quarantine rows of one street CSV: the registered Arrow tables police_uk_file (the file, see
-- police_uk_typed.sql) and police_uk_reasons (source_row, reason of each rejected row), joined by source_row;
-- raw_row is the row as read, every column as text. Parameters: $force, $source, $source_file.
SELECT
    $force AS force,
    $source AS source,
    $source_file AS source_file,
    f.source_row,
    r.reason,
    json_object(
        'Crime ID', f."Crime ID", 'Month', f.month, 'Reported by', f."Reported by", 'Falls within', f."Falls within",
        'Longitude', f.longitude, 'Latitude', f.latitude, 'Location', f.location, 'LSOA code', f."LSOA code",
        'LSOA name', f."LSOA name", 'Crime type', f."Crime type", 'Last outcome category', f."Last outcome category",
        'Context', f.context
    ) AS raw_row
FROM police_uk_file AS f
INNER JOIN police_uk_reasons AS r USING (source_row)
