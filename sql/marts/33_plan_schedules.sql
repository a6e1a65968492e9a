-- Weekly schedules of the randomised plan, published ahead (hotspots.schedule): one row per publication.
CREATE TABLE IF NOT EXISTS plan_schedules (
    -- key: (force, week_start, revision)
    force VARCHAR NOT NULL,
    week_start DATE NOT NULL,
    revision INTEGER NOT NULL,
    k INTEGER NOT NULL,
    plan_seed BIGINT NOT NULL,
    method VARCHAR NOT NULL,
    inputs JSON NOT NULL,
    reason VARCHAR,
    published_at TIMESTAMP NOT NULL,
    superseded_at TIMESTAMP
);
COMMENT ON TABLE plan_schedules IS 'One row per publication of a weekly schedule (Monday to Sunday) of the randomised plan. The current revision (superseded_at NULL) is immutable: a rerun keeps it, and only an explicit redraw (hotspots plan-week --redraw --reason) supersedes it. Its days are the daily_plan rows of the week.';
COMMENT ON COLUMN plan_schedules.force IS 'Force slug.';
COMMENT ON COLUMN plan_schedules.week_start IS 'Monday of the week covered (local dates week_start .. week_start + 6).';
COMMENT ON COLUMN plan_schedules.revision IS '0 for the first publication; each redraw adds 1.';
COMMENT ON COLUMN plan_schedules.k IS 'Hot spots drawn per day (settings.plan_k).';
COMMENT ON COLUMN plan_schedules.plan_seed IS 'settings.plan_seed at publication.';
COMMENT ON COLUMN plan_schedules.method IS 'The draw, in words precise enough to re-derive it from inputs.';
COMMENT ON COLUMN plan_schedules.inputs IS 'Per date: the hot-spot list drawn from (selection_id and its area codes), the day seed and the codes drawn in draw order.';
COMMENT ON COLUMN plan_schedules.reason IS 'Why the week was redrawn (NULL for the first publication).';
COMMENT ON COLUMN plan_schedules.published_at IS 'When this revision was published, UTC.';
COMMENT ON COLUMN plan_schedules.superseded_at IS 'When a redraw replaced this revision, UTC; NULL for the current one.';
