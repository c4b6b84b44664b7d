"""Local calendars (T1, T2): a patient's dates are read on their own zone; instants stay UTC.

One leap-day convention for every rule (T1): a date that does not exist in the target month (29
February in a common year, 31 April...) falls on the first day of the following month.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Protocol
from zoneinfo import ZoneInfo

MICROSECOND = timedelta(microseconds=1)


class Zoned(Protocol):
    time_zone: str | None


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def zone_of(patient: Zoned, default: str) -> str:
    """T1: the patient's IANA zone, or the program's (`default`) when none is recorded."""
    return patient.time_zone or default


def local_date(instant: datetime, tz: str) -> date:
    """The date an aware instant falls on in `tz`."""
    return instant.astimezone(zone(tz)).date()


def day_start(day: date, tz: str) -> datetime:
    """The first instant (UTC) of local date `day` in `tz`."""
    return datetime.combine(day, time(0), tzinfo=zone(tz)).astimezone(UTC)


def day_end(day: date, tz: str) -> datetime:
    """The last instant (UTC, to the microsecond) of local date `day` in `tz`."""
    return day_start(day + timedelta(days=1), tz) - MICROSECOND


def calendar_days(earlier: datetime, later: datetime, tz: str) -> int:
    """T2: calendar days between the local dates of two instants (negative if `later` is earlier)."""
    return (local_date(later, tz) - local_date(earlier, tz)).days


def add_months(day: date, months: int) -> date:
    """`day` moved by whole months; a day the target month lacks rolls to the next month's 1st (T1)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    try:
        return date(year, month + 1, day.day)
    except ValueError:
        return date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)


def add_years(day: date, years: int) -> date:
    """An anniversary: 29 February falls on 1 March in a common year (T1)."""
    return add_months(day, 12 * years)
