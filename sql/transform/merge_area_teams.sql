-- Area -> team rows of $force ($areas and $teams, lists of one length): existing rows of those areas replaced.
MERGE INTO area_teams AS t
USING (
    SELECT
        $force AS force,
        unnest($areas::VARCHAR[]) AS area_code,
        unnest($teams::VARCHAR[]) AS team
) AS s
    ON t.force = s.force AND t.area_code = s.area_code
WHEN MATCHED THEN UPDATE SET team = s.team, updated_at = now()
WHEN NOT MATCHED THEN INSERT (force, area_code, team, updated_at) VALUES (s.force, s.area_code, s.team, now())
