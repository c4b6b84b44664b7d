"""T1: patients' IANA time zones, validated, and the patient's local calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from rems.domain.errors import InvalidInput
from rems.domain.model import Patient
from workflows.program import Program


@cache
def _known() -> frozenset[str]:
    return frozenset(available_timezones())


def checked_zone(name: str, field: str = "time_zone") -> str:
    """An IANA zone name from the system's database, or InvalidInput naming `field`."""
    if name not in _known():
        raise InvalidInput(field, "must be an IANA time zone name, e.g. America/New_York")
    return name


def zone_of(patient: Patient, program: Program) -> str:
    return patient.time_zone or program.time_zone


def local_date(now: datetime, zone: str) -> date:
    """Today on the patient's calendar (T1); at the very ends of the calendar (year 1, 9999),
    where no zone's offset fits, the UTC date."""
    try:
        return now.astimezone(ZoneInfo(zone)).date()
    except OverflowError:
        return now.astimezone(UTC).date()
