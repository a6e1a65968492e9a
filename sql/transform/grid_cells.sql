-- The grid's cells (model: grid_cells, a temp table): square cells of $c metres over the boundary parts in
-- grid_boundary, numbered by column c and row r from the origin, kept where more than 0.01% lies inside.
CREATE OR REPLACE TEMP TABLE grid_cells AS
WITH ext AS (
    SELECT
        floor(min(st_xmin(geom)) / $c)::BIGINT AS c0,
        floor(min(st_ymin(geom)) / $c)::BIGINT AS r0,
        ceil(max(st_xmax(geom)) / $c)::BIGINT AS c1,
        ceil(max(st_ymax(geom)) / $c)::BIGINT AS r1
    FROM grid_boundary
),

cells AS (
    SELECT
        cs.c,
        rs.r,
        st_makeenvelope(cs.c * $c, rs.r * $c, (cs.c + 1) * $c, (rs.r + 1) * $c) AS geom
    FROM ext, range(c0, c1) AS cs (c), range(r0, r1) AS rs (r)
)

SELECT
    cells.c,
    cells.r,
    any_value(cells.geom) AS geom
FROM cells INNER JOIN grid_boundary AS b ON st_intersects(cells.geom, b.geom)
GROUP BY cells.c, cells.r
HAVING sum(st_area(st_intersection(cells.geom, b.geom))) > $c * $c * 1e-4
