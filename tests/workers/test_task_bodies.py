"""The task bodies, called directly on a real database (no eager mode, no broker): a tick is
harmless twice, and only committed rows are handed to the broker (issue 4)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from rems.adapters import orm
from rems.adapters.notify.port import RecordingChannel
from rems.bootstrap import App
from rems.domain.delivery import Channel
from rems.domain.model import Prescription
from rems.services.context import Context
from rems.services.reminders import notifications
from rems.services.reminders.notifications import Reminder
from tests.api.conftest import Clock
from tests.service.builders import Scenario
from tests.workers.helpers import T0
from workers.runtime import Runtime
from workers.tasks import relay_body, send_body, sweep_body


def runtime(app: App, clock: Clock, channel: RecordingChannel) -> Runtime:
    channels: dict[str, Channel] = {"outbox": channel}
    return Runtime(app.settings.model_copy(update={"reminder_lead_days": 3, "reminder_lookback_days": 7}),
                   app, channels, clock)


def test_a_tick_expires_records_reminds_and_sends_each_reminder_once(app: App) -> None:
    s = Scenario(app).certified_prescriber().certified_pharmacy().enrolled("adult_male").ready()
    rx = s.authorized()
    assert rx.expires_at is not None
    s.now = rx.expires_at - timedelta(days=1)
    other = Scenario(app, s.now).certified_prescriber().enrolled("adult_male").ready()  # R36: one open each
    waiting = other.request(survey=False).prescription
    clock, channel, batches = Clock(rx.expires_at + timedelta(minutes=1)), RecordingChannel(), []
    rt = runtime(app, clock, channel)
    rt.settings = rt.settings.model_copy(update={"notify_batch_size": 1})  # a task per reminder
    result = sweep_body(rt, batches.append)
    published = [n for batch in batches for n in batch]
    assert result["expired"]["authorizations_expired"] == 1  # R23, through the state machine, audited
    assert s.fetch(Prescription, rx.id).state == "expired"
    assert ("expire", "authorized", "expired") in s.trail("prescription", rx.id)
    kinds = {k for k in result["reminders"] if k not in ("found", "recorded")}
    assert {"authorization_expired", "prescriber_survey_needed"} <= kinds
    assert result["enqueued"] == result["reminders"]["recorded"] == len(published) == len(batches) > 1
    for batch in batches:
        assert list(send_body(rt, batch).values()) == ["sent"]
    sent = {(m.kind, m.subject_id) for m in channel.sent}
    assert ("authorization_expired", rx.id) in sent and ("prescriber_survey_needed", waiting.id) in sent
    assert all("Patient" not in m.text for m in channel.sent)  # ids and dates, never names


def test_a_duplicated_beat_tick_sends_nothing_twice(app: App) -> None:
    s = Scenario(app).certified_prescriber().enrolled("adult_male").ready()
    s.request(survey=False)
    clock, channel = Clock(s.now + timedelta(hours=1)), RecordingChannel()
    rt, published = runtime(app, clock, channel), []
    first = sweep_body(rt, published.append)
    second = sweep_body(rt, published.append)  # the same tick, fired twice
    assert first["reminders"]["recorded"] == 1 and second["reminders"]["recorded"] == 0
    assert second["enqueued"] == 0
    published += published  # and even if the broker delivered every send task twice
    assert sorted(o for batch in published for o in send_body(rt, batch).values()) == ["sent", "skipped"]
    assert len(channel.sent) == 1


def test_the_relay_republishes_a_failed_send_after_its_backoff(app: App) -> None:
    s = Scenario(app).certified_prescriber().enrolled("adult_male").ready()
    s.request(survey=False)
    clock, channel = Clock(s.now), RecordingChannel(failures=1)
    rt, published = runtime(app, clock, channel), []
    sweep_body(rt, published.append)
    assert [o for batch in published for o in send_body(rt, batch).values()] == ["failed"]
    assert relay_body(rt, published.append) == 0  # backing off
    clock.now += rt.policy.backoff
    assert relay_body(rt, published.append) == 1
    assert list(send_body(rt, published[-1]).values()) == ["sent"]
    with app.uow() as uow:
        [row] = notifications.listing(uow, Context("admin", clock.now))
    assert (row.state, row.attempts) == ("sent", 2)


def test_the_relay_publishes_one_task_per_batch_and_a_batch_is_sent_and_audited_per_reminder(app: App) -> None:
    """Issue 14 item 7: 5 reminders, batches of 2: 3 tasks; each reminder sent once, one audit
    entry each, and a batch delivered twice sends nothing again."""
    clock, channel = Clock(T0), RecordingChannel()
    rt = runtime(app, clock, channel)
    rt.settings = rt.settings.model_copy(update={"notify_batch_size": 2})
    reminders = [Reminder("pharmacy:phm_1", "confirmation_expired", f"cnf_{i}", T0.date(), "R27")
                 for i in range(5)]
    with app.uow() as uow:
        notifications.record(uow, Context("worker", T0), reminders, frozenset({"outbox"}))
        uow.commit()
    batches: list[list[str]] = []
    assert relay_body(rt, batches.append) == 5
    assert [len(batch) for batch in batches] == [2, 2, 1]
    assert [send_body(rt, batch) for batch in batches] == [{n: "sent" for n in batch} for batch in batches]
    assert [send_body(rt, batch) for batch in batches] == [{n: "skipped" for n in batch} for batch in batches]
    assert sorted(m.subject_id for m in channel.sent) == sorted(r.subject for r in reminders)
    with app.uow() as uow:
        entries = uow.session.execute(select(orm.audit_log.c.entity_id, orm.audit_log.c.trigger).where(
            orm.audit_log.c.entity == "notification")).all()
    assert sorted(entries) == sorted((n, "sent") for batch in batches for n in batch)
