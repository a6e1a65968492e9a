-- Typed columns of one ping file for the AVL rules (hotspots.validation.avl.check_pings judges them).
-- Input: temp view avl_input (file_row, device, time_text, time_typed, x_in, y_in, speed_text, unit_text, raw):
-- x_in/y_in are lon/lat or easting/northing as numbers (NULL when not numeric); time_typed is set for typed
-- Parquet columns; raw is the row as read (kept for quarantine). Needs SET TimeZone = 'UTC' (a time without
-- offset is UTC) and, for CSV, preserve_insertion_order = true (file_row is NULL: a row's position in
-- avl_typed is its line). Output: temp table avl_typed, one row per input row, no NULL in the numeric columns
-- (ts_us 0 and NaN coordinates where unparseable).
CREATE OR REPLACE TEMP TABLE avl_typed AS
WITH parsed AS (
    SELECT
        file_row,
        raw,
        coalesce(trim(device), '') AS device,
        coalesce(
            time_typed,
            try_strptime(time_text, '%Y-%m-%dT%H:%M:%SZ'),  -- the usual export format, parsed fast
            CASE
                WHEN regexp_full_match(trim(time_text), '-?[0-9]+(\.[0-9]+)?')
                    THEN  -- epoch seconds
                        CASE WHEN abs(cast(trim(time_text) AS DOUBLE)) < 1e11
                                THEN make_timestamp(cast(round(cast(trim(time_text) AS DOUBLE) * 1e6) AS BIGINT))
                        END
                ELSE try_cast(trim(time_text) AS TIMESTAMPTZ) AT TIME ZONE 'UTC'  -- ISO 8601, any offset
            END
        ) AS ts,
        x_in,
        y_in,
        lower(trim(speed_text)) AS speed_text,
        lower(trim(unit_text)) AS unit_text
    FROM avl_input
)

SELECT
    file_row,
    raw,
    device,
    coalesce(epoch_us(ts), 0) AS ts_us,
    ts IS NOT NULL AS ts_ok,
    coalesce(x_in, cast('NaN' AS DOUBLE)) AS x_in,
    coalesce(y_in, cast('NaN' AS DOUBLE)) AS y_in,
    CASE WHEN speed_text NOT IN ('', 'nan', 'none') THEN try_cast(speed_text AS DOUBLE) END AS speed_kmh,
    speed_text IS NULL OR speed_text IN ('', 'nan', 'none')
    OR coalesce(try_cast(speed_text AS DOUBLE) BETWEEN 0 AND $max_speed, FALSE) AS speed_ok,
    CASE WHEN unit_text NOT IN ('', 'nan', 'none') THEN unit_text END AS unit_type,
    unit_text IS NULL OR unit_text IN ('', 'nan', 'none') OR list_contains($unit_types, unit_text) AS unit_ok
FROM parsed
