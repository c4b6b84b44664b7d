"""A parked notification, for tests of the outbox routes (also usable from tests/api/endpoints.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from rems.adapters.notify.port import RecordingChannel
from rems.bootstrap import App
from rems.services.context import Context
from rems.services.reminders import delivery, notifications
from rems.services.reminders.notifications import Policy, Reminder

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def park_one(app: App, subject: str = "cnf_1", now: datetime = T0) -> str:
    """Record a reminder and fail its only attempt: it is parked. Returns its id."""
    reminder = Reminder("pharmacy:phm_1", "confirmation_expired", subject, date(2026, 3, 2), "R27")
    with app.uow() as uow:
        notifications.record(uow, Context("worker", now), [reminder], frozenset({"outbox"}))
        uow.commit()
        [n] = notifications.listing(uow, Context("worker", now), recipient="pharmacy:phm_1")
    outcome = delivery.deliver(app.uow, {"outbox": RecordingChannel(failures=1)},
                               lambda: Context("worker", now), n.id, Policy(max_attempts=1))
    assert outcome == "parked"
    return n.id
