"""Routing: area -> team -> Slack channel and email recipients (and the escalation audience)."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from hotspots.settings import Settings
from hotspots.warehouse import read_sql

DEFAULT_TEAM = "default"
DEFAULT_CHANNEL = "#hotspots"
FEED_TEAM = "data_engineers"  # the route of feed_missing alerts; the CSV line '@feed' or YAML feed_team names another
FEED_CODE = "@feed"
CSV_COLUMNS = ("area_code", "team", "slack_channel", "email_to", "escalation_slack_channel", "escalation_email_to")


class RoutingError(ValueError):
    """The routing table cannot be used."""


@dataclass(frozen=True)
class Team:
    """Where one team's alerts go. Escalation falls back to the team's own channel and recipients."""

    name: str
    slack_channel: str | None = None
    email_to: tuple[str, ...] = ()
    escalation_slack_channel: str | None = None
    escalation_email_to: tuple[str, ...] = ()

    def slack_for(self, audience: str) -> str | None:
        if audience == "escalation" and self.escalation_slack_channel:
            return self.escalation_slack_channel
        return self.slack_channel

    def email_for(self, audience: str) -> tuple[str, ...]:
        if audience == "escalation" and self.escalation_email_to:
            return self.escalation_email_to
        return self.email_to


@dataclass
class Routing:
    """Teams by name, area_code -> team, and the team for unmapped areas."""

    teams: dict[str, Team]
    area_team: dict[str, str] = field(default_factory=dict)
    default_team: str = DEFAULT_TEAM
    feed_team: str = FEED_TEAM

    def team_of(self, area_code: str) -> str:
        return self.area_team.get(area_code, self.default_team)

    def team(self, name: str) -> Team:
        return self.teams.get(name) or self.teams[self.default_team]


def _emails(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, (list, tuple)) else str(value).replace(";", ",").split(",")
    return tuple(str(item).strip() for item in items if str(item).strip())


def default_team(settings: Settings) -> Team:
    """The built-in default route: team 'default', #hotspots, settings.alert_email_to."""
    return Team(DEFAULT_TEAM, DEFAULT_CHANNEL, tuple(settings.alert_email_to))


def feed_team(settings: Settings) -> Team:
    """The built-in data engineers' route: settings.feed_slack_channel and settings.feed_email_to (else the
    failure email, else the default recipients)."""
    emails = settings.feed_email_to or ([settings.failure_email] if settings.failure_email else settings.alert_email_to)
    return Team(FEED_TEAM, settings.feed_slack_channel, tuple(emails))


def load_routing(settings: Settings) -> Routing:
    """The routing table at settings.routing_path (CSV or YAML), or the default route alone (with the data
    engineers' built-in route, which a team named data_engineers in the table replaces)."""
    routing = _load_table(settings)
    routing.teams.setdefault(FEED_TEAM, feed_team(settings))
    if routing.feed_team not in routing.teams:
        raise RoutingError(f"{settings.routing_path}: feed team {routing.feed_team!r} is not one of the teams.")
    return routing


def _load_table(settings: Settings) -> Routing:
    base = default_team(settings)
    path = settings.routing_path
    if path is None:
        return Routing({DEFAULT_TEAM: base})
    path = Path(path)
    if not path.is_file():
        raise RoutingError(
            f"{path}: routing table not found; fix HOTSPOTS_ROUTING_PATH or unset it to use the default route."
        )
    if path.suffix.lower() in {".yaml", ".yml"}:
        return _load_yaml(path, base)
    if path.suffix.lower() == ".csv":
        return _load_csv(path, base)
    raise RoutingError(f"{path}: routing table must be .csv, .yaml or .yml.")


def _load_csv(path: Path, base: Team) -> Routing:
    routing = Routing({DEFAULT_TEAM: base})
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {"area_code", "team"} - set(reader.fieldnames or [])
        if missing:
            raise RoutingError(f"{path}: missing column(s) {sorted(missing)}; columns are {', '.join(CSV_COLUMNS)}.")
        for line, row in enumerate(reader, start=2):
            code, name = (row.get("area_code") or "").strip(), (row.get("team") or "").strip()
            if not code or not name:
                raise RoutingError(
                    f"{path}, line {line}: area_code and team are required ('*' = default route, '@feed' = feed)."
                )
            team = Team(
                name,
                (row.get("slack_channel") or "").strip() or None,
                _emails(row.get("email_to")),
                (row.get("escalation_slack_channel") or "").strip() or None,
                _emails(row.get("escalation_email_to")),
            )
            known = routing.teams.get(name)
            if known is not None and name != DEFAULT_TEAM and known != team:
                raise RoutingError(
                    f"{path}, line {line}: team {name!r} has different channels or recipients on another line."
                )
            routing.teams[name] = team
            if code == "*":
                routing.default_team = name
            elif code == FEED_CODE:
                routing.feed_team = name
            else:
                routing.area_team[code] = name
    return routing


def _load_yaml(path: Path, base: Team) -> Routing:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise RoutingError(f"{path}: not valid YAML: {exc}") from exc
    teams = doc.get("teams")
    if not isinstance(teams, dict):
        raise RoutingError(f"{path}: expected a 'teams:' mapping of team name -> slack_channel, email_to, areas.")
    routing = Routing(
        {DEFAULT_TEAM: base},
        default_team=str(doc.get("default_team", DEFAULT_TEAM)),
        feed_team=str(doc.get("feed_team", FEED_TEAM)),
    )
    for name, spec in teams.items():
        spec = spec or {}
        routing.teams[str(name)] = Team(
            str(name),
            spec.get("slack_channel"),
            _emails(spec.get("email_to")),
            spec.get("escalation_slack_channel"),
            _emails(spec.get("escalation_email_to")),
        )
        for code in spec.get("areas") or []:
            if str(code) in routing.area_team:
                raise RoutingError(
                    f"{path}: area {code} is routed to both {routing.area_team[str(code)]!r} and {name!r}."
                )
            routing.area_team[str(code)] = str(name)
    if routing.default_team not in routing.teams:
        raise RoutingError(f"{path}: default_team {routing.default_team!r} is not one of the teams.")
    return routing


def _record_teams(con, force: str, teams: dict[str, str]) -> None:
    """Write area -> team rows for the force (existing rows for those areas are replaced)."""
    if not teams:
        return
    con.execute(
        read_sql("transform/merge_area_teams"), {"force": force, "areas": list(teams), "teams": list(teams.values())}
    )


def sync_area_teams(con, *, force: str, settings: Settings) -> int:
    """Rewrite area -> team for the force's areas in area_teams from the routing table, parsed once here.

    The table is what the alert rules read (area_teams_of), and what analysts group compliance by.
    """
    routing = load_routing(settings)
    codes = [code for (code,) in con.execute("SELECT area_code FROM stg_areas WHERE force = ?", [force]).fetchall()]
    con.execute("DELETE FROM area_teams WHERE force = ?", [force])
    _record_teams(con, force, {code: routing.team_of(code) for code in codes})
    return len(codes)


def area_teams_of(con, *, force: str, codes: list[str], settings: Settings, record: bool = False) -> dict[str, str]:
    """area_code -> team from area_teams, the one owner at rule time (sync_area_teams fills it).

    Areas the table lacks (not synced yet, or not among the force's stg_areas) are routed from the routing table,
    parsed only then, and recorded in the table when record=True (False on a read-only connection).
    """
    found = dict(
        con.execute(
            "SELECT area_code, team FROM area_teams WHERE force = ? AND list_contains(?, area_code)",
            [force, list(codes)],
        ).fetchall()
    )
    missing = sorted(set(codes) - found.keys())
    if missing:
        routing = load_routing(settings)
        routed = {code: routing.team_of(code) for code in missing}
        if record:
            _record_teams(con, force, routed)
        found |= routed
    return found
