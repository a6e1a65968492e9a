-- One row per evaluation of a force's patrol (the weekly evaluate_patrol DAG).
CREATE TABLE IF NOT EXISTS evaluation_runs (
    -- key: (run_id)
    run_id VARCHAR NOT NULL,
    force VARCHAR NOT NULL,
    design VARCHAR NOT NULL,
    start_date DATE NOT NULL,
    end_date DATE NOT NULL,
    hotspots INTEGER NOT NULL,
    treated_place_days INTEGER NOT NULL,
    control_place_days INTEGER NOT NULL,
    crimes INTEGER NOT NULL,
    redraws INTEGER NOT NULL,
    evaluation_seed BIGINT NOT NULL,
    summary VARCHAR NOT NULL,
    report_path VARCHAR,
    result_json VARCHAR NOT NULL,
    computed_at TIMESTAMP NOT NULL
);
COMMENT ON TABLE evaluation_runs IS 'One row per evaluation of a force''s patrol through an end date (weekly DAG evaluate_patrol, or hotspots run evaluate_patrol); run_id = force|end_date, so a rerun replaces the row and its estimates.';
COMMENT ON COLUMN evaluation_runs.run_id IS 'force|end_date.';
COMMENT ON COLUMN evaluation_runs.force IS 'Force slug.';
COMMENT ON COLUMN evaluation_runs.design IS 'randomised (some place-days not drawn: intention to treat) or before_after (every hot spot every day: difference in differences against matched comparison areas).';
COMMENT ON COLUMN evaluation_runs.start_date IS 'First plan day evaluated.';
COMMENT ON COLUMN evaluation_runs.end_date IS 'Last plan day evaluated.';
COMMENT ON COLUMN evaluation_runs.hotspots IS 'Hot spots in the plan.';
COMMENT ON COLUMN evaluation_runs.treated_place_days IS 'Place-days drawn for patrol (before_after: hot-spot days after the start).';
COMMENT ON COLUMN evaluation_runs.control_place_days IS 'Place-days not drawn (before_after: comparison-area days after the start).';
COMMENT ON COLUMN evaluation_runs.crimes IS 'Crimes counted on the hot spots'' place-days (settings.crime_types, force records with a date).';
COMMENT ON COLUMN evaluation_runs.redraws IS 'Re-draws of the plan behind the randomisation p-values (0 for before_after).';
COMMENT ON COLUMN evaluation_runs.evaluation_seed IS 'settings.evaluation_seed: with the data it fixes every p-value and bootstrap interval.';
COMMENT ON COLUMN evaluation_runs.summary IS 'The plain-language summary for command staff, one sentence per line.';
COMMENT ON COLUMN evaluation_runs.report_path IS 'The HTML evaluation report written by the run.';
COMMENT ON COLUMN evaluation_runs.result_json IS 'The whole result as `hotspots evaluate --json` prints it.';
COMMENT ON COLUMN evaluation_runs.computed_at IS 'When the run was computed (UTC).';
