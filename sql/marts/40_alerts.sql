-- The outbox: every alert is written here before any delivery is tried.
CREATE TABLE IF NOT EXISTS alerts (
    -- key: (alert_key)
    alert_key VARCHAR NOT NULL,
    force VARCHAR NOT NULL,
    rule VARCHAR NOT NULL,
    area_code VARCHAR NOT NULL,
    date DATE NOT NULL,
    team VARCHAR NOT NULL,
    audience VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    details JSON NOT NULL,
    created_at TIMESTAMP NOT NULL,
    file_status VARCHAR NOT NULL DEFAULT 'pending',
    slack_status VARCHAR NOT NULL DEFAULT 'pending',
    slack_attempts INTEGER NOT NULL DEFAULT 0,
    slack_error VARCHAR,
    slack_sent_at TIMESTAMP,
    slack_digest VARCHAR,
    slack_target VARCHAR,
    slack_ts VARCHAR,
    email_status VARCHAR NOT NULL DEFAULT 'pending',
    email_attempts INTEGER NOT NULL DEFAULT 0,
    email_error VARCHAR,
    email_sent_at TIMESTAMP,
    email_digest VARCHAR,
    email_target VARCHAR,
    file_path VARCHAR
);
COMMENT ON TABLE alerts IS 'Outbox of supervisor alerts; alert_key = rule|force|area|date makes every alert unique, so reruns never raise or send twice.';
COMMENT ON COLUMN alerts.alert_key IS 'Unique key: rule|force|area_code|date.';
COMMENT ON COLUMN alerts.force IS 'Force slug.';
COMMENT ON COLUMN alerts.rule IS 'under_target, no_patrol (escalation), recovered, no_visit_yet (in-shift checkpoint: not visited or under dose so far), dose_delivered (checkpoint notice: dose met today), planned (the day''s randomised plan), no_data (no GPS data that day), feed_missing (GPS feed health, to the data engineers), contamination (patrolled in the window though not drawn that day), weekly_plan (the published week, date = its Monday) or correction (a rebuilt day withdraws or updates earlier alerts).';
COMMENT ON COLUMN alerts.area_code IS 'Hot-spot area code; feed:<kind> for feed_missing.';
COMMENT ON COLUMN alerts.date IS 'Local date the alert is about.';
COMMENT ON COLUMN alerts.team IS 'Team from the routing table (default route when unmapped).';
COMMENT ON COLUMN alerts.audience IS 'supervisors, escalation for the second audience, or data_engineers (feed_missing).';
COMMENT ON COLUMN alerts.severity IS 'info, warning or critical.';
COMMENT ON COLUMN alerts.details IS 'Figures shown in the message: minutes, target, Koper visits, days since last patrol. Never any officer or device identity.';
COMMENT ON COLUMN alerts.created_at IS 'When the alert was raised (UTC).';
COMMENT ON COLUMN alerts.file_status IS 'Local outbox file: pending or sent.';
COMMENT ON COLUMN alerts.slack_status IS 'pending, sending (attempt in flight; found on the next run only after a crash), sent, failed (will retry), skipped (channel not configured), dead (gave up after alert_max_attempts) or uncertain (may be on Slack; the channel could not be checked: hotspots alerts-settle).';
COMMENT ON COLUMN alerts.slack_attempts IS 'Slack delivery attempts so far.';
COMMENT ON COLUMN alerts.slack_error IS 'Last Slack error.';
COMMENT ON COLUMN alerts.slack_sent_at IS 'When Slack accepted the message.';
COMMENT ON COLUMN alerts.email_status IS 'pending, sending, sent, failed, skipped or dead, as for Slack.';
COMMENT ON COLUMN alerts.email_attempts IS 'Email delivery attempts so far.';
COMMENT ON COLUMN alerts.email_error IS 'Last SMTP error.';
COMMENT ON COLUMN alerts.email_sent_at IS 'When the SMTP server accepted the mail.';
COMMENT ON COLUMN alerts.slack_digest IS 'Id of the digest message of the last Slack attempt (also in the message metadata, used to find it after a crash).';
COMMENT ON COLUMN alerts.slack_target IS 'Slack channel of the last attempt: its ID once resolved (slack_channels).';
COMMENT ON COLUMN alerts.slack_ts IS 'Slack message timestamp (ts) once sent.';
COMMENT ON COLUMN alerts.email_digest IS 'Id of the digest mail of the last attempt (its Message-ID is <digest@hotspots>).';
COMMENT ON COLUMN alerts.email_target IS 'Recipients of the last email attempt, comma-separated.';
COMMENT ON COLUMN alerts.file_path IS 'The alert''s JSON file in the local outbox.';
