"""Supervisor alerts: rules (rules.py), routing (routing.py), messages (messages.py), targets and the outbox."""
