-- Every area of a force ranked by harm over the look-back window, with the selected flag for the budget.
-- Parameters: $force, $end_month (DATE, first day of the last month counted), $lookback_months,
-- $crime_types (VARCHAR[]), $weights ('cchi' | 'count' | 'sqrt' | 'css': CSS rows), $exclude_proactive, $min_events,
-- $consistency_k, $consistency_n (harm in at least k of the last n years; k = 0 turns the rule off),
-- $budget_mode ('top' | 'area_share' | 'harm_share'), $hotspot_count, $area_share, $harm_share,
-- $persistence_classes (VARCHAR[]: the classes of the temp table selection_persistence that may be selected;
-- empty = any; built by selection.rank_areas from persistence_classes.sql).
-- Ties: harm desc, events desc, area_code asc. Selectable: events >= min_events, harm > 0, consistent, and of a
-- required persistence class.
WITH params AS (
    SELECT
        cast($end_month AS DATE) AS end_month,
        greatest($lookback_months, CASE WHEN $consistency_k > 0 THEN 12 * $consistency_n ELSE 0 END) AS span_months
),

weighted AS (
    -- One row per counted crime: its weight under the mode (offence-code weight first, else category).
    SELECT
        c.area_code,
        datediff('month', c.month, p.end_month) AS months_back,
        c.harm
    FROM weighted_crimes($force, $weights, $crime_types, $exclude_proactive) AS c
    CROSS JOIN params AS p
    WHERE c.area_code IS NOT NULL
        AND c.month <= p.end_month
        AND c.month > p.end_month - to_months(p.span_months)
),

per_area AS (
    SELECT
        area_code,
        count(*) FILTER (WHERE months_back < $lookback_months) AS events,
        coalesce(sum(harm) FILTER (WHERE months_back < $lookback_months), 0) AS harm,
        count(DISTINCT months_back // 12) FILTER (WHERE harm > 0 AND months_back < 12 * $consistency_n)
            AS years_with_harm
    FROM weighted
    GROUP BY area_code
),

ranked AS (
    SELECT
        a.area_code,
        a.area_name,
        coalesce(p.events, 0) AS events,
        coalesce(p.harm, 0.0) AS harm,
        coalesce(p.years_with_harm, 0) AS years_with_harm,
        sp.persistence,
        row_number() OVER (ORDER BY coalesce(p.harm, 0.0) DESC, coalesce(p.events, 0) DESC, a.area_code ASC) AS rank
    FROM stg_areas AS a
    LEFT JOIN per_area AS p ON a.area_code = p.area_code
    LEFT JOIN selection_persistence AS sp ON a.area_code = sp.area_code
    WHERE a.force = $force
),

eligible AS (
    SELECT
        *,
        events >= $min_events AND harm > 0 AND years_with_harm >= $consistency_k
        AND (len($persistence_classes) = 0 OR coalesce(list_contains($persistence_classes, persistence), FALSE))
            AS selectable,
        sum(harm) OVER () AS total_harm,
        count(*) OVER () AS n_areas,
        sum(harm) OVER (ORDER BY rank ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cumulative_harm
    FROM ranked
),

budget AS (
    SELECT
        *,
        CASE WHEN selectable
                THEN count(*) FILTER (WHERE selectable)
                        OVER (ORDER BY rank ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        END AS selectable_rank,
        coalesce(sum(CASE WHEN selectable THEN harm ELSE 0 END)
            OVER (ORDER BY rank ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS selectable_harm_before
    FROM eligible
)

SELECT
    area_code,
    area_name,
    events,
    harm,
    CASE WHEN total_harm > 0 THEN harm / total_harm ELSE 0 END AS harm_share,
    CASE WHEN total_harm > 0 THEN cumulative_harm / total_harm ELSE 0 END AS cumulative_share,
    cast(rank AS INTEGER) AS rank,
    coalesce(selectable AND CASE $budget_mode
        WHEN 'top' THEN selectable_rank <= $hotspot_count
        -- floor: 28 of 352 LSOAs is "under 8%"; the epsilon absorbs binary rounding (0.29 * 100).
        WHEN 'area_share' THEN selectable_rank <= greatest(1, floor($area_share * n_areas + 1e-9))
        -- the fewest areas whose harm reaches the share: take an area while the harm before it falls short.
        WHEN 'harm_share' THEN selectable_harm_before < $harm_share * total_harm * (1 - 1e-12)
    END, FALSE) AS selected,
    selectable,
    years_with_harm,
    persistence
FROM budget
ORDER BY rank
