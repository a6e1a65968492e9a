-- Slack channel name -> ID ($names, $ids, lists of one length, resolved at $resolved_at): known names updated.
MERGE INTO slack_channels AS c
USING (
    SELECT
        unnest($names::VARCHAR[]) AS name,
        unnest($ids::VARCHAR[]) AS channel_id
) AS s
    ON c.name = s.name
WHEN MATCHED THEN UPDATE SET channel_id = s.channel_id, resolved_at = $resolved_at
WHEN NOT MATCHED THEN INSERT (name, channel_id, resolved_at) VALUES (s.name, s.channel_id, $resolved_at)
