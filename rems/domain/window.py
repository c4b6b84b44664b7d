"""The reminder sweep's window of due dates (issue 4): [today - lookback, today + lead], and the
stage of a due date in it. Pure: the instant is an argument (rems.services.reminders.reminders
finds what is due in it, rems.adapters.due selects the candidates by its bounds)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta


@dataclass(frozen=True)
class Window:
    now: datetime
    lead_days: int
    lookback_days: int

    @property
    def today(self) -> date:
        return self.now.date()

    @property
    def first(self) -> date:
        return self.today - timedelta(days=self.lookback_days)

    @property
    def last(self) -> date:
        return self.today + timedelta(days=self.lead_days)

    @property
    def start(self) -> datetime:
        """The first instant of the window."""
        return midnight(self.first)

    @property
    def end(self) -> datetime:
        """The first instant after the window."""
        return midnight(self.last + timedelta(days=1))

    def holds(self, day: date) -> bool:
        return self.first <= day <= self.last

    def stage(self, due_on: date) -> str:
        if due_on > self.today:
            return "due_soon"
        return "due_today" if due_on == self.today else "overdue"


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)
