-- The crimes an evaluation counts: force records with an occurrence date between $first_day and $last_day, of the
-- selection's crime types ($crime_types), weighted by harm_in_use($weights), without proactive offences when
-- $exclude_proactive. One row per crime: area_code (NULL outside every area), local date, BNG point, harm.
SELECT
    c.crime_key,
    c.area_code,
    cast(c.occurred_at AS DATE) AS date,
    c.easting,
    c.northing,
    c.harm
FROM weighted_crimes($force, $weights, $crime_types, $exclude_proactive) AS c
WHERE
    c.occurred_at IS NOT NULL
    AND cast(c.occurred_at AS DATE) >= $first_day
    AND cast(c.occurred_at AS DATE) <= $last_day
