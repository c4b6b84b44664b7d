"""The reminder sweep (issue 4): find what is due with indexed window queries, record it once.

Each finder (rems/services/reminders/due_*.py, its queries in rems/adapters/due.py) selects only
rows whose due date falls in the window [today - lookback, today + lead] (rems.domain.window)
through range conditions on indexed columns, so the work grows with what is due, not with the
population; the exact due date is then computed by the same
domain functions the gate uses. Stages: a due date ahead is "…_due_soon", today "…_due_today",
behind "…_overdue"; the natural key (recipient, kind, subject, due date) makes each stage one
reminder however often the sweep runs."""

from __future__ import annotations

from collections.abc import Callable

from rems.domain import catalogue
from rems.domain.window import Window as Window  # re-exported: the finders' window (rems.domain)
from rems.domain.window import midnight as midnight
from rems.services.context import Context
from rems.services.ports import UnitOfWork
from rems.services.reminders import notifications
from rems.services.reminders.notifications import Reminder

# R11: testing continues through dose interruptions and holds; R20 likewise for a live enrollment.
LIVE_PATIENT_STATES = catalogue.LIVE_PATIENT_STATES


Finder = Callable[[UnitOfWork, Window], list[Reminder]]


def finders() -> list[Finder]:
    from rems.services.reminders import due_patients, due_records
    return [due_patients.pregnancy_tests, due_patients.lab_tests, due_patients.patient_surveys,
            due_patients.refill_windows,
            due_patients.new_ppafs, due_records.prescriber_surveys, due_records.authorizations,
            due_records.confirmations, due_records.certifications]


def find_due(uow: UnitOfWork, window: Window) -> list[Reminder]:
    uow.due.jit_off()
    with uow.due.sharing():  # issue 14 item 6: each candidate's records read once for all the finders
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
