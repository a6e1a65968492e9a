-- Concentration of harm under one selection: areas, total harm, the selected areas' share and the Gini
-- coefficient of harm over all areas (0 = spread evenly, towards 1 = all in one area).
-- Gini with areas sorted by harm ascending (i = 1..n): sum((2i - n - 1) * harm_i) / (n * total harm).
-- Parameters: $force, $selection_id.
WITH r AS (
    SELECT
        harm,
        selected,
        count(*) OVER () + 1 - rank AS ascending_rank,
        count(*) OVER () AS n_areas,
        sum(harm) OVER () AS total_harm
    FROM hotspot_ranking
    WHERE force = $force AND selection_id = $selection_id
)

SELECT
    count(*) AS areas,
    count(*) FILTER (WHERE selected) AS selected,
    coalesce(sum(harm), 0) AS total_harm,
    coalesce(sum(harm) FILTER (WHERE selected) / nullif(sum(harm), 0), 0) AS selected_harm_share,
    coalesce(sum((2 * ascending_rank - n_areas - 1) * harm) / nullif(any_value(n_areas) * sum(harm), 0), 0) AS gini
FROM r
