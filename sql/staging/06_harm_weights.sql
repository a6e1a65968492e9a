CREATE TABLE IF NOT EXISTS harm_weights (
    -- key: (key_type, key)
    key_type VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    weight DOUBLE NOT NULL,
    proactive BOOLEAN NOT NULL,
    source VARCHAR NOT NULL
);
COMMENT ON TABLE harm_weights IS 'Harm weights in use (CCHI days of imprisonment; ONS Crime Severity Score weights under css_ key types), loaded from include/hotspots/data/*.csv or a force''s own file; versioned with the code.';
COMMENT ON COLUMN harm_weights.key_type IS 'crime_type (data.police.uk category) or offence_code (Home Office code); css_crime_type, css_offence_code for CSS.';
COMMENT ON COLUMN harm_weights.key IS 'The category or offence code.';
COMMENT ON COLUMN harm_weights.weight IS 'CCHI weight in days (CSS rows: the CSS weight).';
COMMENT ON COLUMN harm_weights.proactive IS 'True for offences mostly found by proactive policing (excluded from targeting when exclude_proactive is set).';
COMMENT ON COLUMN harm_weights.source IS 'Where the weight comes from.';

-- The weight one crime carries under a weighting mode ('cchi' | 'count' | 'sqrt' | 'css'): its offence-code weight
-- first, else its category's (the SQL twin of hotspots.harm.weight_in_use; selection and evaluation use it).
CREATE OR REPLACE MACRO harm_in_use(MODE, OFFENCE_WEIGHT, CATEGORY_WEIGHT) AS
CASE mode
    WHEN 'count' THEN 1.0
    WHEN 'sqrt' THEN sqrt(coalesce(offence_weight, category_weight, 0))
    ELSE coalesce(offence_weight, category_weight, 0)
END;

-- The crimes of a force that a harm rule counts, each with its weight under a weighting mode: of the crime types
-- (VARCHAR[]), without proactive offences when EXCLUDE_PROACTIVE is set, inside or outside every area. The one
-- owner of "which crimes, which weight": ranking, the harm-prevented forecast, persistence classes and the
-- evaluation each add their own window.
CREATE OR REPLACE MACRO weighted_crimes(FORCE_SLUG, MODE, CRIME_TYPES, EXCLUDE_PROACTIVE) AS TABLE
    SELECT
        c.*,
        harm_in_use(mode, o.weight, t.weight) AS harm
    FROM counted_crimes AS c
    LEFT JOIN harm_weights AS o
        ON o.key_type = CASE WHEN mode = 'css' THEN 'css_offence_code' ELSE 'offence_code' END
            AND c.offence_code = o.key
    LEFT JOIN harm_weights AS t
        ON t.key_type = CASE WHEN mode = 'css' THEN 'css_crime_type' ELSE 'crime_type' END
            AND c.crime_type = t.key
    WHERE
        c.force = force_slug
        AND list_contains(crime_types, c.crime_type)
        AND NOT (exclude_proactive AND coalesce(o.proactive, t.proactive, FALSE));
