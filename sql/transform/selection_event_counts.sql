-- Events of a force placed in an area, and those counted by the selection (placed, of the crime types, in the
-- look-back window). Parameters: $force, $crime_types, $first_month and $last_month (first days of months).
SELECT
    count(*) FILTER (WHERE area_code IS NOT NULL) AS events_placed,
    count(*) FILTER (
        WHERE area_code IS NOT NULL AND list_contains($crime_types, crime_type)
        AND month BETWEEN $first_month AND $last_month
    ) AS events_counted
FROM counted_crimes
WHERE force = $force
