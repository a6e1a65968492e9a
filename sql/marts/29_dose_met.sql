-- dose_met: has an area-day had its patrol dose? The one owner of the dose rule (docs/patrol.md, Dose rule):
-- daily_compliance.dose_met and its status call it, and so does any check of the dose delivered so far today.
-- Arguments: the rule (setting dose_rule), minutes inside the window (daily_patrol.window_minutes), the longest
-- continuous visit inside it (daily_patrol.longest_visit_minutes), the day's full target and the length of a
-- full visit (setting dose_visit_minutes); hotspots.compliance.dose_rule_params gives the settings' two.
CREATE OR REPLACE MACRO dose_met(rule, window_minutes, longest_visit_minutes, target_minutes, visit_minutes) AS
CASE
    WHEN target_minutes <= 0 THEN TRUE
    WHEN rule = 'total' THEN coalesce(window_minutes, 0) >= target_minutes
    WHEN rule = 'continuous' THEN coalesce(longest_visit_minutes, 0) >= visit_minutes
    ELSE error('unknown dose rule ' || rule || ': use total or continuous')
END;
