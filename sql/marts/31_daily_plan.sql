-- The randomised daily patrol plan (Operation Rowan style): k of the n hot spots drawn per day.
CREATE TABLE IF NOT EXISTS daily_plan (
    -- key: (force, date, area_code)
    force VARCHAR NOT NULL,
    date DATE NOT NULL,
    area_code VARCHAR NOT NULL,
    selection_id VARCHAR NOT NULL,
    planned BOOLEAN NOT NULL,
    draw_order INTEGER,
    k INTEGER NOT NULL,
    n INTEGER NOT NULL,
    plan_seed BIGINT NOT NULL,
    day_seed BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
COMMENT ON TABLE daily_plan IS 'One row per hot spot per local day when settings.plan_k is set: planned = drawn for patrol that day. Drawn once and never redrawn for the same selection, so the published plan is the plan checked against GPS.';
COMMENT ON COLUMN daily_plan.force IS 'Force slug.';
COMMENT ON COLUMN daily_plan.date IS 'Local calendar date the plan is for.';
COMMENT ON COLUMN daily_plan.area_code IS 'Hot-spot area code.';
COMMENT ON COLUMN daily_plan.selection_id IS 'Hot-spot list the draw was made from.';
COMMENT ON COLUMN daily_plan.planned IS 'True when the hot spot was drawn for patrol that day.';
COMMENT ON COLUMN daily_plan.draw_order IS '1..k in the order drawn; NULL when not planned.';
COMMENT ON COLUMN daily_plan.k IS 'Hot spots drawn (settings.plan_k, at most n).';
COMMENT ON COLUMN daily_plan.n IS 'Hot spots in the list.';
COMMENT ON COLUMN daily_plan.plan_seed IS 'settings.plan_seed at draw time.';
COMMENT ON COLUMN daily_plan.day_seed IS 'Seed of this day''s draw: first 63 bits of sha256(plan_seed|force|date); random.Random(day_seed).sample(sorted hot spots, k) reproduces the plan.';
COMMENT ON COLUMN daily_plan.created_at IS 'When the plan was drawn (UTC).';
