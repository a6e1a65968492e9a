-- The crimes a selection counted, one row per crime, for the harm-prevented forecast's bootstrap: the area, its
-- harm under the selection's weighting and whether the area is on the list. Parameters: $force, $first_month,
-- $last_month (DATEs), $crime_types, $weights, $exclude_proactive, $hotspots (VARCHAR[]).
SELECT
    c.crime_key,
    c.area_code,
    c.harm,
    list_contains($hotspots, c.area_code) AS selected
FROM weighted_crimes($force, $weights, $crime_types, $exclude_proactive) AS c
WHERE
    c.area_code IS NOT NULL
    AND c.month >= $first_month
    AND c.month <= $last_month
