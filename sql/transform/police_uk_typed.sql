-- The typed rows of one street CSV that passed validation, the columns load_relation takes. Reads the registered
-- Arrow table police_uk_file: source_row, the file's text columns (canonical names), and derived from the same row
-- keep (passed every rule), crime_id (stripped) and lon, lat, easting, northing (police_uk.typed_rows).
SELECT
    source_row,
    crime_id,
    strptime(month || '-01', '%Y-%m-%d')::DATE AS month,
    NULL::TIMESTAMP AS occurred_at,
    "Crime type" AS crime_type,
    NULL::VARCHAR AS offence_code,
    NULL::BOOLEAN AS knife_flag,
    lon,
    lat,
    easting,
    northing,
    location,
    "LSOA code" AS file_lsoa_code
FROM police_uk_file
WHERE keep
