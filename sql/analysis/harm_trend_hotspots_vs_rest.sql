-- Harm trend in the hot spots against the rest of the force.
-- Monthly serious-violence harm (CCHI days) and crimes in the current hot spots and in all other areas,
-- per area and as an index of the first month (1.0 = as in the first month). A falling index in the hot
-- spots with a flat one elsewhere is what patrol should achieve; a rise elsewhere may be displacement.
-- Crime types: edit `crime_types` to match the selection (selections.params holds the ones used).
-- Run: hotspots query --file sql/analysis/harm_trend_hotspots_vs_rest.sql
WITH crime_types (crime_type) AS (
    VALUES ('Violence and sexual offences'), ('Robbery'), ('Possession of weapons')
),

areas AS (
    SELECT
        a.force,
        a.area_code,
        CASE WHEN h.area_code IS NULL THEN 'rest' ELSE 'hot spots' END AS area_group
    FROM stg_areas AS a
    LEFT JOIN current_hotspots AS h ON a.force = h.force AND a.area_code = h.area_code
),

groups AS (
    SELECT
        force,
        area_group,
        count(*) AS areas
    FROM areas
    GROUP BY force, area_group
),

months AS (
    SELECT DISTINCT
        force,
        month
    FROM monthly_harm
),

monthly AS (
    SELECT
        m.force,
        m.month,
        a.area_group,
        sum(m.events) AS events,
        sum(m.harm) AS harm
    FROM monthly_harm AS m
    INNER JOIN crime_types USING (crime_type)
    INNER JOIN areas AS a ON m.force = a.force AND m.area_code = a.area_code
    GROUP BY m.force, m.month, a.area_group
),

grid AS (
    SELECT
        mo.force,
        mo.month,
        g.area_group,
        g.areas,
        coalesce(m.events, 0) AS events,
        coalesce(m.harm, 0) AS harm
    FROM months AS mo
    INNER JOIN groups AS g ON mo.force = g.force
    LEFT JOIN monthly AS m ON mo.force = m.force AND mo.month = m.month AND g.area_group = m.area_group
)

SELECT
    force,
    month,
    area_group,
    areas,
    events,
    harm,
    round(harm / areas, 2) AS harm_per_area,
    round(harm / nullif(first_value(harm) OVER (PARTITION BY force, area_group ORDER BY month), 0), 3) AS harm_index
FROM grid
ORDER BY force, month, area_group;
