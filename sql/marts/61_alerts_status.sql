-- Alerts with one overall delivery status across Slack and email.
CREATE OR REPLACE VIEW alerts_status AS
SELECT
    alert_key,
    force,
    rule,
    area_code,
    date,
    team,
    audience,
    severity,
    created_at,
    CASE
        WHEN 'dead' IN (slack_status, email_status) THEN 'dead'
        WHEN slack_status = 'uncertain' THEN 'uncertain'
        WHEN 'failed' IN (slack_status, email_status) THEN 'retrying'
        WHEN 'pending' IN (slack_status, email_status) THEN 'pending'
        WHEN 'sent' IN (slack_status, email_status) THEN 'delivered'
        ELSE 'skipped'
    END AS delivery_status,
    greatest(slack_sent_at, email_sent_at) AS delivered_at,
    slack_status,
    slack_attempts,
    slack_error,
    email_status,
    email_attempts,
    email_error,
    details
FROM alerts;
COMMENT ON VIEW alerts_status IS 'Supervisor alerts with their delivery state: one overall status across channels, then the per-channel details.';
COMMENT ON COLUMN alerts_status.alert_key IS 'Unique key: rule|force|area_code|date.';
COMMENT ON COLUMN alerts_status.force IS 'Force slug.';
COMMENT ON COLUMN alerts_status.rule IS 'under_target, no_patrol (escalation), recovered or no_visit_yet (intraday).';
COMMENT ON COLUMN alerts_status.area_code IS 'Hot-spot area code.';
COMMENT ON COLUMN alerts_status.date IS 'Local date the alert is about.';
COMMENT ON COLUMN alerts_status.team IS 'Team the alert was routed to.';
COMMENT ON COLUMN alerts_status.audience IS 'supervisors, or escalation for the second audience.';
COMMENT ON COLUMN alerts_status.severity IS 'info, warning or critical.';
COMMENT ON COLUMN alerts_status.created_at IS 'When the alert was raised (UTC).';
COMMENT ON COLUMN alerts_status.delivery_status IS 'dead (a channel gave up), uncertain (may be on Slack, could not be checked: hotspots alerts-settle), retrying (a channel failed, will retry), pending (not tried yet), delivered (every channel sent or not configured, at least one sent) or skipped (no channel configured).';
COMMENT ON COLUMN alerts_status.delivered_at IS 'Latest time a channel accepted the alert (UTC); NULL when none has.';
COMMENT ON COLUMN alerts_status.slack_status IS 'pending, sent, failed, skipped or dead.';
COMMENT ON COLUMN alerts_status.slack_attempts IS 'Slack delivery attempts so far.';
COMMENT ON COLUMN alerts_status.slack_error IS 'Last Slack error.';
COMMENT ON COLUMN alerts_status.email_status IS 'pending, sent, failed, skipped or dead.';
COMMENT ON COLUMN alerts_status.email_attempts IS 'Email delivery attempts so far.';
COMMENT ON COLUMN alerts_status.email_error IS 'Last SMTP error.';
COMMENT ON COLUMN alerts_status.details IS 'Figures shown in the message (minutes, target, Koper visits, days since last patrol); no officer or device identity.';
