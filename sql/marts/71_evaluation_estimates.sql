-- Every estimate of an evaluation run, one row each (long format, for analysts and charts).
CREATE TABLE IF NOT EXISTS evaluation_estimates (
    -- key: (run_id, estimate, term)
    run_id VARCHAR NOT NULL,
    estimate VARCHAR NOT NULL,
    term VARCHAR NOT NULL,
    place_days INTEGER,
    rate_ratio DOUBLE,
    ci_low DOUBLE,
    ci_high DOUBLE,
    p_value DOUBLE
);
COMMENT ON TABLE evaluation_estimates IS 'One row per estimate of an evaluation run (evaluation_runs): intention to treat per outcome, dose-response bins, Koper-visit bins, carry-over and displacement; replaced with its run.';
COMMENT ON COLUMN evaluation_estimates.run_id IS 'The run (evaluation_runs.run_id).';
COMMENT ON COLUMN evaluation_estimates.estimate IS 'itt, dose_response, koper_response, carry_over or displacement.';
COMMENT ON COLUMN evaluation_estimates.term IS 'itt: count, harm or prevalence; dose_response: minutes bin (0, 1-9, 10-14, 15+); koper_response: visits (0, 1, 2+); carry_over: streak_N or since_N (N+ for the last); displacement: ring.';
COMMENT ON COLUMN evaluation_estimates.place_days IS 'Place-days in the bin or category (NULL for itt and displacement).';
COMMENT ON COLUMN evaluation_estimates.rate_ratio IS 'Rate ratio against the reference (control place-days, no patrol, or the wash-out days); 1 for a reference bin.';
COMMENT ON COLUMN evaluation_estimates.ci_low IS 'Lower end of the 95% interval.';
COMMENT ON COLUMN evaluation_estimates.ci_high IS 'Upper end of the 95% interval.';
COMMENT ON COLUMN evaluation_estimates.p_value IS 'itt and displacement in a randomised design: randomisation p-value; otherwise Wald.';
