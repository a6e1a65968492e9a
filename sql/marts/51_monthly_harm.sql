CREATE OR REPLACE VIEW monthly_harm AS
SELECT
    c.force,
    c.area_code,
    c.month,
    c.crime_type,
    count(*) AS events,
    sum(coalesce(w.weight, 0)) AS harm
FROM counted_crimes AS c
LEFT JOIN harm_weights AS w ON w.key_type = 'crime_type' AND c.crime_type = w.key
WHERE c.area_code IS NOT NULL
GROUP BY ALL;
COMMENT ON VIEW monthly_harm IS 'Crimes and CCHI harm per area, month and crime type (all types; selection filters further).';
