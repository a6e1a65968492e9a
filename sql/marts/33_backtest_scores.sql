-- Back-tests of the hot-spot rule: selected on a training window, scored on the test window after it.
CREATE TABLE IF NOT EXISTS backtest_scores (
    -- key: (force, train_first, test_last, weights, budget_mode, budget)
    force VARCHAR NOT NULL,
    train_first DATE NOT NULL,
    train_last DATE NOT NULL,
    test_first DATE NOT NULL,
    test_last DATE NOT NULL,
    weights VARCHAR NOT NULL,
    budget_mode VARCHAR NOT NULL,
    budget DOUBLE NOT NULL,
    params VARCHAR NOT NULL,
    areas INTEGER NOT NULL,
    selected INTEGER NOT NULL,
    area_share DOUBLE NOT NULL,
    train_harm_share DOUBLE,
    harm_share DOUBLE,
    events_share DOUBLE,
    pai DOUBLE,
    spearman DOUBLE,
    count_harm_share DOUBLE,
    count_pai DOUBLE,
    random_harm_share DOUBLE NOT NULL,
    created_at TIMESTAMP NOT NULL
);
COMMENT ON TABLE backtest_scores IS 'One row per back-test window of the hot-spot rule (docs/targeting.md): written by the select_hotspots step (settings backtest_train_months, backtest_test_months, backtest_step_months) and hotspots backtest --store; a rerun on the same data leaves the rows as they are.';
COMMENT ON COLUMN backtest_scores.force IS 'Force slug.';
COMMENT ON COLUMN backtest_scores.train_first IS 'First month of the training window (selection).';
COMMENT ON COLUMN backtest_scores.train_last IS 'Last month of the training window.';
COMMENT ON COLUMN backtest_scores.test_first IS 'First month of the test window (scoring).';
COMMENT ON COLUMN backtest_scores.test_last IS 'Last month of the test window.';
COMMENT ON COLUMN backtest_scores.weights IS 'Harm weighting (cchi, count, sqrt, css).';
COMMENT ON COLUMN backtest_scores.budget_mode IS 'Budget mode of the rule (top, area_share, harm_share).';
COMMENT ON COLUMN backtest_scores.budget IS 'Budget value (areas, share of areas or share of harm).';
COMMENT ON COLUMN backtest_scores.params IS 'Every parameter of the rule, as JSON.';
COMMENT ON COLUMN backtest_scores.areas IS 'Areas of the force.';
COMMENT ON COLUMN backtest_scores.selected IS 'Areas selected on the training window.';
COMMENT ON COLUMN backtest_scores.area_share IS 'selected / areas.';
COMMENT ON COLUMN backtest_scores.train_harm_share IS 'Share of the training harm in the selected areas (in sample).';
COMMENT ON COLUMN backtest_scores.harm_share IS 'Share of the test window''s harm in the selected areas.';
COMMENT ON COLUMN backtest_scores.events_share IS 'Share of the test window''s counted events in the selected areas.';
COMMENT ON COLUMN backtest_scores.pai IS 'Predictive accuracy index: harm_share / area_share.';
COMMENT ON COLUMN backtest_scores.spearman IS 'Spearman rank correlation of every area''s harm between the two windows.';
COMMENT ON COLUMN backtest_scores.count_harm_share IS 'Baseline: test harm share of as many areas ranked by last year''s counts.';
COMMENT ON COLUMN backtest_scores.count_pai IS 'Baseline: PAI of the count ranking.';
COMMENT ON COLUMN backtest_scores.random_harm_share IS 'Baseline: expected test harm share of a random pick (= area_share).';
COMMENT ON COLUMN backtest_scores.created_at IS 'When the row was first written (UTC).';
