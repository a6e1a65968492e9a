-- Slack channel names resolved to channel IDs, once: posts and checks use the ID (docs/alerts.md, Exactly once).
CREATE TABLE IF NOT EXISTS slack_channels (
    -- key: (name)
    name VARCHAR NOT NULL,
    channel_id VARCHAR NOT NULL,
    resolved_at TIMESTAMP NOT NULL
);
COMMENT ON TABLE slack_channels IS 'Slack channel names of the routes resolved to channel IDs (conversations.list, once per name): messages are posted to the ID, and an uncertain post is checked in that channel.';
COMMENT ON COLUMN slack_channels.name IS 'Channel name without the leading #.';
COMMENT ON COLUMN slack_channels.channel_id IS 'Slack channel ID (C..., G...).';
COMMENT ON COLUMN slack_channels.resolved_at IS 'When the name was resolved (UTC).';
