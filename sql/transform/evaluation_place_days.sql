-- One row per place-day of an evaluation (hotspots.evaluation.estimators.FRAME_COLUMNS).
-- Needs the temp tables eval_places(area_code, date, treated): the place-days evaluated; eval_hot(area_code):
-- the hot spots, whose crimes never count in a ring; eval_crimes (evaluation_crimes.sql); and
-- eval_patrol(area_code, date, patrol_minutes, window_minutes, koper_visits): the delivered dose.
-- Ring: crimes within $ring_m metres of the area's polygon, outside the area and outside every hot spot.
WITH inside AS (
    SELECT
        area_code,
        date,
        count(*) AS n,
        sum(harm) AS harm
    FROM eval_crimes
    WHERE area_code IS NOT NULL
    GROUP BY area_code, date
),

places AS (
    SELECT DISTINCT p.area_code
    FROM eval_places AS p
),

shapes AS (
    SELECT
        a.area_code,
        a.geom
    FROM stg_areas AS a
    INNER JOIN places AS p ON a.area_code = p.area_code
    WHERE a.force = $force
),

ring AS (
    SELECT
        s.area_code,
        c.date,
        count(*) AS n
    FROM eval_crimes AS c
    INNER JOIN shapes AS s
        ON
            c.easting IS NOT NULL
            AND st_dwithin(s.geom, st_point(c.easting, c.northing), $ring_m)
            AND c.area_code IS DISTINCT FROM s.area_code
    WHERE c.area_code IS NULL OR c.area_code NOT IN (SELECT h.area_code FROM eval_hot AS h)
    GROUP BY s.area_code, c.date
)

SELECT
    p.area_code,
    p.date,
    p.treated,
    coalesce(d.window_minutes, 0.0) AS window_minutes,
    coalesce(d.patrol_minutes, 0.0) AS patrol_minutes,
    coalesce(d.koper_visits, 0) AS koper_visits,
    coalesce(i.n, 0) AS count,
    coalesce(i.harm, 0.0) AS harm,
    coalesce(r.n, 0) AS ring_count
FROM eval_places AS p
LEFT JOIN eval_patrol AS d ON p.area_code = d.area_code AND p.date = d.date
LEFT JOIN inside AS i ON p.area_code = i.area_code AND p.date = i.date
LEFT JOIN ring AS r ON p.area_code = r.area_code AND p.date = r.date
ORDER BY p.area_code, p.date
