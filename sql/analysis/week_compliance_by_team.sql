-- The week's compliance by team.
-- For each force and team, over the 7 days ending with the latest day computed: hot-spot days met, under
-- target and without any patrol, and patrol minutes delivered inside the window against the target.
-- Team comes from area_teams (the alert routing table); hot spots without a recorded team show as 'unrouted'.
-- Another week: replace max(date) in `latest` by a day, e.g. DATE '2024-05-31'.
-- Run: hotspots query --file sql/analysis/week_compliance_by_team.sql
WITH latest AS (
    SELECT
        force,
        max(date) AS last_day
    FROM daily_compliance
    GROUP BY force
),

week AS (
    SELECT
        c.*,
        coalesce(t.team, 'unrouted') AS team
    FROM daily_compliance AS c
    INNER JOIN latest AS l ON c.force = l.force AND c.date BETWEEN l.last_day - 6 AND l.last_day
    LEFT JOIN area_teams AS t ON c.force = t.force AND c.area_code = t.area_code
)

SELECT
    force,
    team,
    min(date) AS week_start,
    max(date) AS week_end,
    count(DISTINCT area_code) AS hotspots,
    count(*) AS hotspot_days,
    count(*) FILTER (WHERE status = 'met') AS days_met,
    count(*) FILTER (WHERE status = 'under') AS days_under,
    count(*) FILTER (WHERE status = 'none') AS days_none,
    round(count(*) FILTER (WHERE status = 'met') / count(*), 3) AS share_met,
    round(sum(delivered_minutes), 1) AS delivered_minutes,
    round(sum(target_minutes), 1) AS target_minutes,
    round(sum(delivered_minutes) / nullif(sum(target_minutes), 0), 3) AS dose_ratio
FROM week
GROUP BY force, team
ORDER BY force, share_met, team;
