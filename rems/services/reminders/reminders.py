"""The reminder sweep (issue 4): find what is due with indexed window queries, record it once.

Each finder (rems/services/due_*.py) selects only rows whose due date falls in the window
[today - lookback, today + lead] through range conditions on indexed columns, so the work grows
with what is due, not with the population; the exact due date is then computed by the same
domain functions the gate uses. Stages: a due date ahead is "…_due_soon", today "…_due_today",
behind "…_overdue"; the natural key (recipient, kind, subject, due date) makes each stage one
reminder however often the sweep runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import text

from rems.adapters.uow import UnitOfWork
from rems.domain import catalogue
from rems.services.context import Context
from rems.services.reminders import notifications
from rems.services.reminders.notifications import Reminder

# R11: testing continues through dose interruptions and holds; R20 likewise for a live enrollment.
LIVE_PATIENT_STATES = catalogue.LIVE_PATIENT_STATES


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


Finder = Callable[[UnitOfWork, Window], list[Reminder]]


def finders() -> list[Finder]:
    from rems.services.reminders import due_patients, due_records
    return [due_patients.pregnancy_tests, due_patients.lab_tests, due_patients.patient_surveys,
            due_patients.refill_windows,
            due_patients.new_ppafs, due_records.prescriber_surveys, due_records.authorizations,
            due_records.confirmations, due_records.certifications]


def find_due(uow: UnitOfWork, window: Window) -> list[Reminder]:
    if uow.session.get_bind().dialect.name == "postgresql":
        # PostgreSQL's JIT compiles a plan whose estimated cost passes a threshold; for these
        # index-range queries compiling took longer than running them (up to 1.9 s a statement at
        # 100,000 patients, in EXPLAIN ANALYZE): off for this transaction only.
        uow.session.execute(text("SET LOCAL jit = off"))
    from rems.services.reminders.due_patients import sharing
    with sharing(uow):  # issue 14 item 6: each candidate's records read once for all the finders
        return [reminder for find in finders() for reminder in find(uow, window)]


def sweep_reminders(uow: UnitOfWork, ctx: Context, lead_days: int, lookback_days: int,
                    available: frozenset[str]) -> dict[str, int]:
    """Find everything due at ctx.now and record the new reminders, in one transaction; each
    certification's recertification is judged with its own program (R3, R25)."""
    found = find_due(uow, Window(ctx.now, lead_days, lookback_days))
    added = notifications.record(uow, ctx, found, available)
    uow.commit()
    counts: dict[str, int] = {}
    for reminder in found:
        counts[reminder.kind] = counts.get(reminder.kind, 0) + 1
    return {"found": len(found), "recorded": added, **dict(sorted(counts.items()))}
