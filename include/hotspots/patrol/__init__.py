"""Patrol dose from GPS: pings -> presence intervals -> daily patrol minutes per area (docs/patrol.md)."""

from hotspots.patrol.core import OUTPUT_COLUMNS, PatrolParams, patrol_minutes
from hotspots.patrol.daily import compute_daily_patrol

__all__ = ["OUTPUT_COLUMNS", "PatrolParams", "compute_daily_patrol", "patrol_minutes"]
