-- Persistence class of every area of a force over the last $years years of harm ending with $end_month (the idea
-- of sfhotspot's hotspot_classify, on harm). A year is the 12 months ending with $end_month, 12 months earlier,
-- and so on (year_back 0 = the latest). An area is hot in a year when it is among the top
-- greatest(1, floor($hot_share x areas)) areas by that year's harm (harm > 0; ties by area code).
-- persistent: hot in the latest year and in at least $persistent_share of the years; emerging: hot in the latest
-- year, not persistent, not hot in the earliest year; intermittent: hot in some year otherwise; none: never hot.
-- Parameters: $force, $end_month, $years, $crime_types, $weights, $exclude_proactive, $hot_share,
-- $persistent_share.
WITH yearly AS (
    SELECT
        c.area_code,
        datediff('month', c.month, cast($end_month AS DATE)) // 12 AS year_back,
        sum(c.harm) AS harm
    FROM weighted_crimes($force, $weights, $crime_types, $exclude_proactive) AS c
    WHERE
        c.area_code IS NOT NULL
        AND c.month <= cast($end_month AS DATE)
        AND c.month > cast($end_month AS DATE) - to_months(12 * $years)
    GROUP BY ALL
),

areas AS (
    SELECT count(*) AS n_areas
    FROM stg_areas
    WHERE force = $force
),

hot AS (
    SELECT
        y.area_code,
        y.year_back,
        row_number() OVER (PARTITION BY y.year_back ORDER BY y.harm DESC, y.area_code ASC)
        <= greatest(1, floor($hot_share * n.n_areas + 1e-9)) AS hot
    FROM yearly AS y
    CROSS JOIN areas AS n
    WHERE y.harm > 0
),

per_area AS (
    SELECT
        area_code,
        count(*) FILTER (WHERE hot) AS years_hot,
        coalesce(bool_or(hot AND year_back = 0), FALSE) AS hot_latest,
        coalesce(bool_or(hot AND year_back = $years - 1), FALSE) AS hot_earliest,
        list(year_back ORDER BY year_back) FILTER (WHERE hot) AS hot_years_back
    FROM hot
    GROUP BY area_code
)

SELECT
    a.area_code,
    coalesce(p.years_hot, 0) AS years_hot,
    coalesce(p.hot_latest, FALSE) AS hot_latest,
    coalesce(p.hot_earliest, FALSE) AS hot_earliest,
    coalesce(p.hot_years_back, []) AS hot_years_back,
    CASE
        WHEN coalesce(p.years_hot, 0) = 0 THEN 'none'
        WHEN p.hot_latest AND p.years_hot >= $persistent_share * $years - 1e-9 THEN 'persistent'
        WHEN p.hot_latest AND NOT p.hot_earliest THEN 'emerging'
        ELSE 'intermittent'
    END AS persistence
FROM stg_areas AS a
LEFT JOIN per_area AS p ON a.area_code = p.area_code
WHERE a.force = $force
ORDER BY a.area_code
