"""Expectation suite for area boundary files (one row per feature, geometry already checked in DuckDB).

Derived columns: geometry_type (after reading; null for a feature without geometry), repair_status ('valid',
'repaired' by ST_MakeValid, or 'unrepairable' when nothing polygonal is left; null for non-polygons) and
repeated_area_code (the code on features that repeat an earlier feature's code). The rules are mutually
exclusive on geometry: missing -> not a polygon -> unrepairable.
"""

from __future__ import annotations

from hotspots.validation.core import Rule

POLYGON_TYPES = ["POLYGON", "MULTIPOLYGON"]
MOSTLY = 0.95  # a boundary file may lose a few features to quarantine; more means the wrong file


def area_rules() -> list[Rule]:
    """Suite areas: code present and unique, polygonal and valid (or repairable) geometry."""
    fix = "Fix the boundary file (e.g. in QGIS) and drop it in landing/<force>/areas/ again."
    return [
        Rule(
            "missing_area_code",
            "ExpectColumnValuesToNotBeNull",
            {"column": "area_code", "mostly": MOSTLY},
            "Every feature needs an area code (set HOTSPOTS_AREA_CODE_FIELD if the code is in another field). " + fix,
        ),
        Rule(
            "duplicate_area_code",
            "ExpectColumnValuesToBeNull",
            {"column": "repeated_area_code", "mostly": MOSTLY},
            "Each area code must appear once (dissolve multi-part areas into one feature). " + fix,
        ),
        Rule(
            "missing_geometry",
            "ExpectColumnValuesToNotBeNull",
            {"column": "geometry_type", "mostly": MOSTLY},
            "Every feature needs a polygon geometry. " + fix,
        ),
        Rule(
            "not_a_polygon",
            "ExpectColumnValuesToBeInSet",
            {"column": "geometry_type", "value_set": POLYGON_TYPES, "mostly": MOSTLY},
            "Areas must be polygons or multipolygons, not points or lines. " + fix,
        ),
        Rule(
            "invalid_geometry",
            "ExpectColumnValuesToBeInSet",
            {"column": "repair_status", "value_set": ["valid", "repaired"], "mostly": MOSTLY},
            "The polygon is invalid and ST_MakeValid leaves no area; redraw it. " + fix,
        ),
    ]
