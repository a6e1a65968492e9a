-- One crime source per force: the crimes selection and the marts count (never the same crime from two sources).
CREATE TABLE IF NOT EXISTS force_crime_source (
    -- key: (force)
    force VARCHAR NOT NULL,
    source VARCHAR NOT NULL
);
COMMENT ON TABLE force_crime_source IS 'The crime source a force counts, when HOTSPOTS_CRIME_SOURCE names one (written by select_hotspots); a force without a row uses the auto rule of counted_crimes.';
COMMENT ON COLUMN force_crime_source.force IS 'Force slug.';
COMMENT ON COLUMN force_crime_source.source IS 'police_uk (street CSV or API) or force_records (RMS extract).';

CREATE OR REPLACE VIEW counted_crimes AS
WITH loaded AS (
    SELECT
        force,
        bool_or(source = 'force_records') AS has_records
    FROM stg_crime_files
    GROUP BY force
),

chosen AS (
    SELECT
        l.force,
        coalesce(s.source, CASE WHEN l.has_records THEN 'force_records' ELSE 'police_uk' END) AS source
    FROM loaded AS l
    LEFT JOIN force_crime_source AS s ON l.force = s.force
)

SELECT c.*
FROM stg_crimes AS c
INNER JOIN chosen AS s ON c.force = s.force AND c.source = s.source;
COMMENT ON VIEW counted_crimes IS 'stg_crimes of the one source each force counts: the source in force_crime_source, else (auto) its own records when any are loaded, else data.police.uk. weighted_crimes (selection, persistence, forecast, evaluation), the event counts and monthly_harm read it, so loading force records beside street files never counts a crime twice.';
COMMENT ON COLUMN counted_crimes.force IS 'Force slug.';
COMMENT ON COLUMN counted_crimes.source IS 'police_uk (street CSV or API) or force_records (RMS extract).';
COMMENT ON COLUMN counted_crimes.crime_key IS 'Crime ID; for anti-social behaviour (no Crime ID) a hash of file and row.';
COMMENT ON COLUMN counted_crimes.month IS 'First day of the month the crime was recorded in.';
COMMENT ON COLUMN counted_crimes.occurred_at IS 'Occurrence date-time (force records only; data.police.uk has month only).';
COMMENT ON COLUMN counted_crimes.crime_type IS 'data.police.uk crime category (force records: mapped from the offence code).';
COMMENT ON COLUMN counted_crimes.offence_code IS 'Home Office offence code (force records only).';
COMMENT ON COLUMN counted_crimes.knife_flag IS 'Knife or sharp instrument involved (force records only).';
COMMENT ON COLUMN counted_crimes.lon IS 'Longitude, WGS84 (anonymised map point for data.police.uk).';
COMMENT ON COLUMN counted_crimes.lat IS 'Latitude, WGS84.';
COMMENT ON COLUMN counted_crimes.easting IS 'Easting, EPSG:27700, metres.';
COMMENT ON COLUMN counted_crimes.northing IS 'Northing, EPSG:27700, metres.';
COMMENT ON COLUMN counted_crimes.location IS 'Location text as published (e.g. On or near X Street).';
COMMENT ON COLUMN counted_crimes.file_lsoa_code IS 'LSOA code printed in the file (kept for reference; placement uses the location).';
COMMENT ON COLUMN counted_crimes.area_code IS 'Area the point falls in (point in polygon); NULL when outside every area.';
COMMENT ON COLUMN counted_crimes.source_file IS 'Raw file the row came from.';
COMMENT ON COLUMN counted_crimes.source_row IS 'Row number in the raw file (1 = first data row).';
COMMENT ON COLUMN counted_crimes.loaded_at IS 'When the file was loaded (UTC).';
