"""The reporting period: a half-open UTC interval [start, end), validated before any query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from rems.domain.errors import InvalidInput

MAX_DAYS = 3660  # ten years: enough for an assessment, small enough for a plot's buckets
_YEARS = range(1970, 3000)


def _moment(value: datetime | date, name: str) -> datetime:
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0), tzinfo=UTC)  # a date is its UTC midnight
    if value.year not in _YEARS:
        raise InvalidInput(name, f"must be between {_YEARS.start} and {_YEARS.stop - 1}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    @classmethod
    def of(cls, start: datetime | date, end: datetime | date) -> Period:
        """From dates (UTC midnight) or datetimes (naive ones are UTC); InvalidInput names the field."""
        period = cls(_moment(start, "start"), _moment(end, "end"))
        if period.end <= period.start:
            raise InvalidInput("end", "must be after start")
        if period.end - period.start > timedelta(days=MAX_DAYS):
            raise InvalidInput("end", f"a period is at most {MAX_DAYS} days")
        return period

    def as_of(self, now: datetime) -> datetime:
        """When "overdue" is judged: the period's end, or now for a period not over yet."""
        return min(self.end, now)
