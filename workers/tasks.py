"""The tasks and their beat schedule, side by side. Each task is a few lines around a service;
its body (`*_body`) takes the runtime so tests call it directly on a real database.

Every periodic task is harmless to run twice: the sweep records reminders by natural key and
expires records through the state machine (an expired record is not expired again), the relay
re-publishes only what is still pending, and a send claims its row first."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rems.services.reminders import delivery, notifications
from rems.services.reminders.reminders import sweep_reminders
from rems.services.reminders.sweeps import expire_due
from rems.settings import Settings
from workers.app import app
from workers.runtime import Runtime, runtime

Publish = Callable[[list[str]], None]  # one send task for a batch of notification ids
PUBLISH_BATCH = 1000  # Redis commands per pipeline round trip


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        "sweep": {"task": "rems.sweep", "schedule": float(settings.sweep_interval_seconds)},
        "relay": {"task": "rems.relay", "schedule": float(settings.relay_interval_seconds)},
    }


def sweep_body(rt: Runtime, publish: Publish) -> dict[str, Any]:
    """R23/R27 expiry through the state machine, then the reminders due, then the relay."""
    with rt.app.uow() as uow:
        expired = expire_due(uow, rt.context("worker:sweep"))
    with rt.app.uow() as uow:
        reminders = sweep_reminders(uow, rt.context("worker:sweep"), rt.settings.reminder_lead_days,
                                    rt.settings.reminder_lookback_days, rt.available)
    return {"expired": expired, "reminders": reminders, "enqueued": relay_body(rt, publish)}


def relay_body(rt: Runtime, publish: Publish) -> int:
    """Publish one send task per REMS_NOTIFY_BATCH_SIZE rows ready to go (issue 14 item 6: one
    message per reminder cost more than the whole sweep); only committed rows are published."""
    with rt.app.uow() as uow:
        ready = notifications.to_enqueue(uow, rt.context("worker:relay"), rt.policy)
    size = rt.settings.notify_batch_size
    for start in range(0, len(ready), size):
        publish(ready[start:start + size])
    return len(ready)


def send_body(rt: Runtime, notification_ids: list[str]) -> dict[str, str]:
    """Each id's outcome (rems.services.reminders.delivery.deliver_batch)."""
    return delivery.deliver_batch(rt.app.uow, rt.channels, lambda: rt.context("worker:notify"),
                                  notification_ids, rt.policy)


def summary(outcomes: dict[str, str]) -> dict[str, int]:
    """How many of a batch ended in each outcome (the task's logged result: ids stay out of logs)."""
    counts: dict[str, int] = {}
    for outcome in outcomes.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    return dict(sorted(counts.items()))


@contextmanager
def publisher() -> Iterator[Publish]:
    """Publish send tasks through one producer (one broker connection) for a whole batch, instead
    of acquiring a connection and a producer per task; on Redis, kombu's producer batch sends them
    in pipelines of PUBLISH_BATCH commands (messages not yet flushed when the block raises are
    dropped: their rows are already marked enqueued, so the relay publishes them again one lease
    later, as for any lost publish)."""
    with app.producer_or_acquire() as producer, producer.batch(max_size=PUBLISH_BATCH):
        def publish(notification_ids: list[str]) -> None:
            send_notifications.apply_async((notification_ids,), producer=producer)
        yield publish


@app.task(name="rems.sweep")  # type: ignore[untyped-decorator]
def sweep() -> dict[str, Any]:
    with publisher() as publish:
        return sweep_body(runtime(), publish)


@app.task(name="rems.relay")  # type: ignore[untyped-decorator]
def relay() -> int:
    with publisher() as publish:
        return relay_body(runtime(), publish)


@app.task(name="rems.send_notifications")  # type: ignore[untyped-decorator]
def send_notifications(notification_ids: list[str]) -> dict[str, int]:
    return summary(send_body(runtime(), notification_ids))


@app.task(name="rems.send_notification")  # type: ignore[untyped-decorator]
def send_notification(notification_id: str) -> str:
    """One reminder: messages published before batches (an upgrade with a queue not drained)."""
    return send_body(runtime(), [notification_id])[notification_id]
