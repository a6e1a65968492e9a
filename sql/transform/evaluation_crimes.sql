-- The crimes an evaluation counts: force records with an occurrence date between $first_day and $last_day, of the
-- selection's crime types ($crime_types), weighted by harm_in_use($weights), without proactive offences when
-- $exclude_proactive. One row per crime: area_code (NULL outside every area), local date, BNG point, harm.
SELECT
    c.crime_key,
    c.area_code,
    cast(c.occurred_at AS DATE) AS date,
    c.easting,
    c.northing,
    harm_in_use($weights, o.weight, t.weight) AS harm
FROM stg_crimes AS c
LEFT JOIN harm_weights AS o
    ON o.key_type = CASE WHEN $weights = 'css' THEN 'css_offence_code' ELSE 'offence_code' END
        AND c.offence_code = o.key
LEFT JOIN harm_weights AS t
    ON t.key_type = CASE WHEN $weights = 'css' THEN 'css_crime_type' ELSE 'crime_type' END
        AND c.crime_type = t.key
WHERE
    c.force = $force
    AND c.occurred_at IS NOT NULL
    AND cast(c.occurred_at AS DATE) >= $first_day
    AND cast(c.occurred_at AS DATE) <= $last_day
    AND list_contains($crime_types, c.crime_type)
    AND NOT ($exclude_proactive AND coalesce(o.proactive, t.proactive, FALSE))
