"""T1 on the dashboard: times are shown and taken in the zone the screen names, never silently UTC.

A patient's pages use the patient's zone (`patient.time_zone or program.time_zone`); a browser's
`datetime-local` value is a wall-clock time in that zone, converted to UTC here. A wall-clock time
that does not exist (the spring-forward gap) or exists twice (the autumn fold) is refused with a
field error: guessing would move a test time by an hour, into or out of R9's 24 hours.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from rems.domain.errors import InvalidInput
from rems.domain.model import Patient
from rems.services.ports import UnitOfWork

_LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")


def patient_zone(uow: UnitOfWork, patient: Patient) -> str:
    """T1: the patient's zone, or the program's for a patient recorded without one."""
    return patient.time_zone or uow.program(patient.program_id).time_zone


def to_utc(value: str | None, zone: str, field: str) -> datetime | str | None:
    """A form's wall-clock time in `zone` as a UTC instant; a value with its own offset (or not a
    time at all, left for the command to refuse) is passed through unchanged."""
    if not value or not _LOCAL.match(value):
        return value
    try:
        wall = datetime.fromisoformat(value)
    except ValueError:
        return value
    tz = ZoneInfo(zone)
    early, late = wall.replace(tzinfo=tz, fold=0), wall.replace(tzinfo=tz, fold=1)
    try:
        if early.utcoffset() == late.utcoffset():
            return early.astimezone(UTC)
        twice = _round_trips(early) and _round_trips(late)
    except OverflowError:
        raise InvalidInput(field, "is out of range") from None
    shown = f"{wall:%Y-%m-%d %H:%M}"
    if twice:
        raise InvalidInput(field, f"{shown} happens twice in {zone} (the clocks go back): enter a time "
                                  f"outside that hour, or give the time with its UTC offset through the API")
    raise InvalidInput(field, f"{shown} does not exist in {zone} (the clocks go forward): check the time")


def _round_trips(moment: datetime) -> bool:
    back = moment.astimezone(UTC).astimezone(moment.tzinfo)
    return back.replace(tzinfo=None) == moment.replace(tzinfo=None)


def shown(value: datetime | str | None, zone: str | None = None) -> str:
    """A moment as people read it: in `zone` with its abbreviation (EST, EDT...), else in UTC.
    A plain day (e.g. when a category changes, R8) is shown as it is: it is already local."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str) and len(value) == len("2026-03-01"):
        return value
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime):
        return str(value)
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=UTC)  # the store keeps UTC; SQLite hands it back naive
    if zone is None:
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or _offset(local.utcoffset())}"


def _offset(delta: timedelta | None) -> str:
    minutes = int((delta or timedelta()).total_seconds() // 60)
    return f"UTC{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
