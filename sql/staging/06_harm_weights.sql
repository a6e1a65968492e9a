CREATE TABLE IF NOT EXISTS harm_weights (
    key_type VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    weight DOUBLE NOT NULL,
    proactive BOOLEAN NOT NULL,
    source VARCHAR NOT NULL,
    PRIMARY KEY (key_type, key)
);
COMMENT ON TABLE harm_weights IS 'Harm weights in use (CCHI days of imprisonment), loaded from include/hotspots/data/*.csv; versioned with the code.';
COMMENT ON COLUMN harm_weights.key_type IS 'crime_type (data.police.uk category) or offence_code (Home Office code).';
COMMENT ON COLUMN harm_weights.key IS 'The category or offence code.';
COMMENT ON COLUMN harm_weights.weight IS 'CCHI weight in days.';
COMMENT ON COLUMN harm_weights.proactive IS 'True for offences mostly found by proactive policing (excluded from targeting when exclude_proactive is set).';
COMMENT ON COLUMN harm_weights.source IS 'Where the weight comes from.';
