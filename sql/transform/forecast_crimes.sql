-- The crimes a selection counted, one row per crime, for the harm-prevented forecast's bootstrap: the area, its
-- harm under the selection's weighting and whether the area is on the list. Parameters: $force, $first_month,
-- $last_month (DATEs), $crime_types, $weights, $exclude_proactive, $hotspots (VARCHAR[]).
SELECT
    c.crime_key,
    c.area_code,
    harm_in_use($weights, o.weight, t.weight) AS harm,
    list_contains($hotspots, c.area_code) AS selected
FROM stg_crimes AS c
LEFT JOIN harm_weights AS o
    ON o.key_type = CASE WHEN $weights = 'css' THEN 'css_offence_code' ELSE 'offence_code' END
        AND c.offence_code = o.key
LEFT JOIN harm_weights AS t
    ON t.key_type = CASE WHEN $weights = 'css' THEN 'css_crime_type' ELSE 'crime_type' END
        AND c.crime_type = t.key
WHERE
    c.force = $force
    AND c.area_code IS NOT NULL
    AND list_contains($crime_types, c.crime_type)
    AND c.month >= $first_month
    AND c.month <= $last_month
    AND NOT ($exclude_proactive AND coalesce(o.proactive, t.proactive, FALSE))
