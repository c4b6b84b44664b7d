"""The outbox on a real database: at most once per natural key, claims, backoff, parking, retry."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select, text

from rems.adapters import orm
from rems.adapters.notify.port import RecordingChannel
from rems.bootstrap import App
from rems.domain.delivery import Message
from rems.domain.errors import Conflict
from rems.domain.model import Notification
from rems.services.context import Context
from rems.services.reminders import delivery, notifications
from rems.services.reminders.notifications import Policy, Reminder
from tests.conftest import T0
from tests.service.builders import Scenario

POLICY = Policy(max_attempts=3, backoff=timedelta(seconds=60), backoff_max=timedelta(seconds=100),
                lease=timedelta(seconds=120))


def remind(app: App, now: datetime = T0, **change: str) -> str:
    reminder = Reminder(**{"recipient": "patient:pat_1", "kind": "pregnancy_test_overdue",
                           "subject": "pat_1", "due_on": date(2026, 3, 1), "rule": "R11", **change})
    with app.uow() as uow:
        assert notifications.record(uow, Context("worker:sweep", now), [reminder], frozenset({"outbox"})) == 1
        uow.commit()
        return uow.session.query(Notification).filter_by(kind=reminder.kind, subject=reminder.subject).one().id


def row(app: App, notification_id: str) -> Notification:
    with app.uow() as uow:
        found = uow.get(Notification, notification_id)
        uow.session.expunge(found)
        return found


def attempt(app: App, channel: RecordingChannel, notification_id: str, now: datetime) -> str:
    return delivery.deliver(app.uow, {"outbox": channel}, lambda: Context("worker:notify", now),
                            notification_id, POLICY)


def test_the_same_natural_key_is_recorded_once(app: App) -> None:
    remind(app)
    reminder = Reminder("patient:pat_1", "pregnancy_test_overdue", "pat_1", date(2026, 3, 1), "R11")
    with app.uow() as uow:
        ctx = Context("worker:sweep", T0 + timedelta(hours=1))
        assert notifications.record(uow, ctx, [reminder, reminder], frozenset({"outbox"})) == 0
        uow.commit()
        assert len(notifications.listing(uow, ctx)) == 1


def test_a_sent_notification_is_not_sent_again_by_a_redelivered_task(app: App) -> None:
    nid, channel = remind(app), RecordingChannel()
    assert attempt(app, channel, nid, T0) == "sent"
    assert attempt(app, channel, nid, T0 + timedelta(hours=1)) == "skipped"
    assert [m.notification_id for m in channel.sent] == [nid]
    assert row(app, nid).state == "sent"
    with app.uow() as uow:
        assert [a.trigger for a in uow.audit_trails.of("notification", nid)] == ["sent"]


def test_a_live_claim_blocks_a_second_sender_until_its_lease_ends(app: App) -> None:
    """A worker killed after claiming: the row stays `sending` under its lease; a redelivery within
    the lease sends nothing, after it the row is claimed again with the same idempotency key."""
    nid, channel = remind(app), RecordingChannel()
    with app.uow() as uow:
        first = notifications.claim(uow, Context("worker", T0), nid, POLICY)
    assert first is not None  # ...and the worker dies here
    assert attempt(app, channel, nid, T0 + POLICY.lease - timedelta(seconds=1)) == "skipped"
    assert channel.sent == []
    assert attempt(app, channel, nid, T0 + POLICY.lease + timedelta(seconds=1)) == "sent"
    assert channel.sent[0].idempotency_key == delivery.idempotency_key(first.notification)
    with app.uow() as uow:  # the dead worker's late outcome is ignored: its claim was taken over
        assert notifications.finish(uow, Context("worker", T0 + timedelta(hours=1)), first, None, POLICY) is None
    assert row(app, nid).attempts == 2


def test_a_failing_channel_is_retried_with_backoff_then_parked_never_dropped(app: App) -> None:
    nid, channel = remind(app), RecordingChannel(failures=10)
    now = T0
    assert attempt(app, channel, nid, now) == "failed"
    failed = row(app, nid)
    assert (failed.state, failed.attempts, failed.next_attempt_at) == ("failed", 1, now + timedelta(seconds=60))
    assert attempt(app, channel, nid, now + timedelta(seconds=59)) == "skipped"  # still backing off
    now += timedelta(seconds=60)
    assert attempt(app, channel, nid, now) == "failed"
    assert row(app, nid).next_attempt_at == now + timedelta(seconds=100)  # doubled, capped at 100 s
    now += timedelta(seconds=100)
    assert attempt(app, channel, nid, now) == "parked"
    parked = row(app, nid)
    assert (parked.state, parked.attempts, parked.last_error) == ("parked", 3, "channel unavailable (fake)")
    assert attempt(app, channel, nid, now + timedelta(days=1)) == "skipped"
    with app.uow() as uow:
        assert [n.id for n in notifications.parked(uow, Context("admin", now))] == [nid]
        assert [a.trigger for a in uow.audit_trails.of("notification", nid)] == ["park"]


def test_a_parked_notification_can_be_retried_once_and_then_is_sent(app: App) -> None:
    nid, channel = remind(app), RecordingChannel(failures=3)
    for n in range(3):
        attempt(app, channel, nid, T0 + timedelta(hours=n))
    assert row(app, nid).state == "parked"
    with app.uow() as uow:
        retried = notifications.retry(uow, Context("admin", T0 + timedelta(hours=5)), nid)
    assert (retried.state, retried.attempts) == ("pending", 0)
    with app.uow() as uow, pytest.raises(Conflict):
        notifications.retry(uow, Context("admin", T0 + timedelta(hours=5)), nid)
    assert attempt(app, channel, nid, T0 + timedelta(hours=5)) == "sent"
    with app.uow() as uow:
        assert [a.trigger for a in uow.audit_trails.of("notification", nid)] == ["park", "retry", "sent"]


def test_a_worker_killed_mid_send_every_time_ends_parked(app: App) -> None:
    nid = remind(app)
    now = T0
    for _ in range(POLICY.max_attempts):
        with app.uow() as uow:
            assert notifications.claim(uow, Context("worker", now), nid, POLICY) is not None
        now += POLICY.lease + timedelta(seconds=1)
    with app.uow() as uow:
        assert notifications.claim(uow, Context("worker", now), nid, POLICY) is None
    assert row(app, nid).state == "parked"


def test_the_relay_hands_out_each_ready_row_once_per_lease(app: App) -> None:
    first, second = remind(app), remind(app, subject="pat_2", recipient="patient:pat_2")
    with app.uow() as uow:
        assert sorted(notifications.to_enqueue(uow, Context("relay", T0), POLICY)) == sorted([first, second])
    with app.uow() as uow:  # an overlapping relay publishes nothing again
        assert notifications.to_enqueue(uow, Context("relay", T0 + timedelta(seconds=1)), POLICY) == []
    with app.uow() as uow:  # a publish lost on the way is made again after a lease
        assert len(notifications.to_enqueue(uow, Context("relay", T0 + POLICY.lease), POLICY)) == 2


def test_the_channel_follows_the_recipients_contact(app: App) -> None:
    s = Scenario(app).certified_prescriber().enrolled("adult_male")
    by_mail, by_phone = s.patient_id, Scenario(app).certified_prescriber().enrolled("adult_male").patient_id
    with app.uow() as uow:
        notifications.set_contact(uow, Context("admin", T0), f"patient:{by_mail}", "p@example.org", None)
    with app.uow() as uow:
        notifications.set_contact(uow, Context("admin", T0), f"patient:{by_phone}", None, "+15551234567")
    all_channels = frozenset({"email", "webhook", "outbox"})
    with app.uow() as uow:
        reminders = [Reminder(f"patient:{p}", "patient_survey_due_soon", p, date(2026, 3, 9), "R20")
                     for p in (by_mail, by_phone, "pat_nobody")]
        notifications.record(uow, Context("worker", T0), reminders, all_channels)
        notifications.record(uow, Context("worker", T0), [Reminder(
            f"patient:{by_mail}", "patient_survey_due_today", by_mail, date(2026, 3, 9), "R20")],
            frozenset({"outbox"}))
        uow.commit()
        got = {(n.subject, n.kind): n.channel for n in notifications.listing(uow, Context("admin", T0))}
    assert got == {(by_mail, "patient_survey_due_soon"): "email", (by_phone, "patient_survey_due_soon"): "webhook",
                   ("pat_nobody", "patient_survey_due_soon"): "outbox",
                   (by_mail, "patient_survey_due_today"): "outbox"}  # SMTP not configured: outbox


class SlowChannel(RecordingChannel):
    """Each send takes `seconds` of the worker's clock."""

    def __init__(self, clock: list[datetime], seconds: int) -> None:
        super().__init__()
        self.clock, self.seconds = clock, seconds

    def send(self, message: Message) -> None:
        super().send(message)
        self.clock[0] += timedelta(seconds=self.seconds)


def test_a_batch_sends_only_while_its_lease_outlasts_a_send_and_hands_the_rest_back(app: App) -> None:
    """Issue 14 item 7: a claimed row is sent only while its lease has a send's time-out left, so no
    lease ends during a send; the rest go back to pending, their attempt not counted."""
    ids = [remind(app, subject=f"pat_{i}") for i in range(3)]
    clock = [T0]
    policy = Policy(max_attempts=3, lease=timedelta(seconds=10), send_budget=timedelta(seconds=4))
    outcomes = delivery.deliver_batch(app.uow, {"outbox": SlowChannel(clock, 3)},
                                      lambda: Context("worker:notify", clock[0]), ids, policy)
    assert list(outcomes.values()) == ["sent", "sent", "pending"]  # the third would start at +6 s
    handed_back = row(app, ids[2])
    assert (handed_back.state, handed_back.attempts, handed_back.claim_token) == ("pending", 0, None)
    with app.uow() as uow:
        assert notifications.to_enqueue(uow, Context("relay", clock[0]), policy) == [ids[2]]
        assert [[a.trigger for a in uow.audit_trails.of("notification", n)] for n in ids] == [["sent"], ["sent"], []]


def test_a_batch_records_failures_and_successes_each_in_its_own_state(app: App) -> None:
    ids = [remind(app, subject=f"pat_{i}") for i in range(3)]
    channel = RecordingChannel(failures=1)
    outcomes = delivery.deliver_batch(app.uow, {"outbox": channel}, lambda: Context("worker:notify", T0),
                                      [*ids, ids[0], "ntf_unknown"], POLICY)
    assert outcomes == {ids[0]: "failed", ids[1]: "sent", ids[2]: "sent", "ntf_unknown": "skipped"}
    assert row(app, ids[0]).next_attempt_at == T0 + POLICY.backoff


def test_a_claim_skips_rows_another_transaction_holds_instead_of_waiting(pg_app: App) -> None:
    """PostgreSQL: two workers with overlapping batches (a redelivered task and a re-published
    one) never wait on, or deadlock with, each other: the rows one is claiming are skipped by the
    other, which claims the rest (issue 14 item 7)."""
    ids = sorted(remind(pg_app, subject=f"pat_{i}") for i in range(4))
    with pg_app.uow() as holder:
        held = holder.session.execute(select(orm.notifications.c.id).where(orm.notifications.c.id.in_(ids[:2]))
                                      .with_for_update()).scalars().all()
        assert sorted(held) == ids[:2]
        with pg_app.uow() as uow:
            uow.session.execute(text("SET LOCAL lock_timeout = '2s'"))  # a wait would fail the test
            claimed = notifications.claim_batch(uow, Context("worker", T0), ids, POLICY)
        assert [c.notification.id for c in claimed] == ids[2:]
        holder.session.rollback()
    with pg_app.uow() as uow:
        assert [c.notification.id for c in notifications.claim_batch(uow, Context("worker", T0), ids, POLICY)] \
            == ids[:2]
