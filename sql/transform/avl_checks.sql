-- The AVL rules 1-8 for one ping file (hotspots.validation.avl.check_pings; docs/patrol.md "Validation").
-- Input: temp view avl_input (source_row, device, time_text, time_typed, x_in, y_in, speed_text, unit_text):
-- x_in/y_in are lon/lat when $projected, else easting/northing; time_typed is set for typed Parquet columns.
-- Needs SET TimeZone = 'UTC' (a time without offset is UTC). Output: temp table avl_checked, one row per input
-- row, with reason = 0 (passes) or the 1-based code of the first rule it fails, so a row fails at most one
-- rule. Rule 9 (impossible jump) is set afterwards by the kernel.
CREATE OR REPLACE TEMP TABLE avl_checked AS
WITH parsed AS (
    SELECT
        source_row,
        coalesce(trim(device), '') AS device,
        regexp_full_match(coalesce(trim(device), ''), $device_pattern) AS device_ok,
        coalesce(
            time_typed,
            CASE
                WHEN regexp_full_match(trim(time_text), '-?[0-9]+(\.[0-9]+)?') THEN
                    CASE WHEN abs(CAST(trim(time_text) AS DOUBLE)) < 1e11
                    THEN make_timestamp(CAST(round(CAST(trim(time_text) AS DOUBLE) * 1e6) AS BIGINT)) END
                ELSE try_cast(trim(time_text) AS TIMESTAMPTZ) AT TIME ZONE 'UTC'
            END
        ) AS ts_any,
        x_in,
        y_in,
        lower(trim(speed_text)) AS speed_text,
        lower(trim(unit_text)) AS unit_text
    FROM avl_input
),
typed AS (
    SELECT
        *,
        CASE WHEN year(ts_any) >= $min_year AND year(ts_any) < $max_year THEN ts_any END AS ts,
        coalesce(CASE WHEN $projected THEN x_in BETWEEN -180 AND 180 AND y_in BETWEEN -90 AND 90
                 ELSE isfinite(x_in) AND isfinite(y_in) END, false) AS coords_in,
        speed_text IS NULL OR speed_text IN ('', 'nan', 'none') AS speed_empty,
        unit_text IS NULL OR unit_text IN ('', 'nan', 'none') AS unit_empty
    FROM parsed
),
placed AS (
    SELECT
        *,
        CASE WHEN NOT coords_in THEN NULL
             WHEN $projected THEN ST_Transform(ST_Point2D(x_in, y_in), 'EPSG:4326', 'EPSG:27700', always_xy := true)
             ELSE ST_Point2D(x_in, y_in) END AS point
    FROM typed
),
judged AS (
    SELECT
        source_row, device, ts, ST_X(point) AS easting, ST_Y(point) AS northing,
        CASE WHEN NOT speed_empty THEN try_cast(speed_text AS DOUBLE) END AS speed_kmh,
        CASE WHEN NOT unit_empty THEN unit_text END AS unit_type,
        CASE
            WHEN NOT device_ok THEN 1
            WHEN ts IS NULL THEN 2
            WHEN window_day IS NOT NULL
                AND NOT (ts >= window_day - to_days($late_days) AND ts < window_day + INTERVAL 1 DAY) THEN 3
            WHEN NOT coords_in OR NOT coalesce(isfinite(ST_X(point)) AND isfinite(ST_Y(point)), false) THEN 4
            WHEN NOT (ST_X(point) BETWEEN $xmin AND $xmax AND ST_Y(point) BETWEEN $ymin AND $ymax) THEN 5
            WHEN NOT (speed_empty OR coalesce(try_cast(speed_text AS DOUBLE) BETWEEN 0 AND $max_speed, false)) THEN 6
            WHEN NOT (unit_empty OR list_contains($unit_types, unit_text)) THEN 7
            ELSE 0
        END AS reason
    FROM placed, (
        SELECT CAST(coalesce($day::DATE, max(ts)::DATE) AS TIMESTAMP) AS window_day
        FROM typed WHERE device_ok AND ts IS NOT NULL
    )
)
SELECT
    source_row, device, ts, easting, northing, speed_kmh, unit_type,
    CAST(CASE WHEN reason = 0 AND row_number() OVER (PARTITION BY reason = 0, device, ts ORDER BY source_row) > 1
         THEN 8 ELSE reason END AS UTINYINT) AS reason
FROM judged
