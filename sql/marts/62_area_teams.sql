-- Which team answers for each area, as routed by the alert routing table.
CREATE TABLE IF NOT EXISTS area_teams (
    -- key: (force, area_code)
    force VARCHAR NOT NULL,
    area_code VARCHAR NOT NULL,
    team VARCHAR NOT NULL,
    updated_at TIMESTAMP
);
COMMENT ON TABLE area_teams IS 'Area -> team from the alert routing table (default route when unmapped), rewritten per force when alerts are routed; lets analysts group compliance by team.';
COMMENT ON COLUMN area_teams.force IS 'Force slug.';
COMMENT ON COLUMN area_teams.area_code IS 'Area code.';
COMMENT ON COLUMN area_teams.team IS 'Team responsible for the area.';
COMMENT ON COLUMN area_teams.updated_at IS 'When the routing was recorded (UTC).';
