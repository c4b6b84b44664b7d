"""Against a real redis-server and a real `celery worker` process: a reminder goes from the sweep
to an SMTP server and to a webhook; a worker SIGKILLed mid-send is restarted and the reminder is
delivered once; a duplicated beat tick sends nothing twice; a failing channel is retried with
backoff, then parked and visible in the CLI and the API (issue 4)."""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rems.asgi import create_app
from rems.cli.main import run
from rems.cli.output import state
from rems.domain.model import Notification
from rems.services.access import tokens
from rems.services.context import Context
from rems.services.reminders import delivery, notifications
from tests.service.builders import Scenario
from tests.workers.conftest import FAIL_DOMAIN, HOLD_PHONE, Live, wait_for


def waiting_prescription(live: Live, email: str | None = None, phone: str | None = None) -> tuple[str, str]:
    """A prescriber with a prescription waiting for the R19 survey, now (the worker's clock)."""
    s = Scenario(live.app, datetime.now(UTC) - timedelta(minutes=5)).certified_prescriber()
    s.enrolled("adult_male").survey()
    rx = s.request(survey=False).prescription
    with live.app.uow() as uow:
        notifications.set_contact(uow, Context("admin", s.now), f"prescriber:{s.prescriber_id}", email, phone)
    return s.prescriber_id, rx.id


def reminder(live: Live, prescriber_id: str, rx_id: str, state: str | None = "sent") -> Notification:
    def find() -> Notification | None:
        with live.app.uow() as uow:
            found = uow.session.scalars(select(Notification).where(
                Notification.recipient == f"prescriber:{prescriber_id}",  # type: ignore[arg-type]
                Notification.subject == rx_id)).first()  # type: ignore[arg-type]
            if found is not None:
                uow.session.expunge(found)
            return found if found is not None and (state is None or found.state == state) else None
    return wait_for(find, what=f"the reminder for {rx_id} to be {state}")  # type: ignore[no-any-return]


def test_a_reminder_goes_from_the_sweep_to_smtp_and_to_the_webhook(live: Live) -> None:
    mail_doc, mail_rx = waiting_prescription(live, email="dr.a@clinic.example")
    sms_doc, sms_rx = waiting_prescription(live, phone="+15557654321")
    live.send("rems.sweep")
    by_mail = reminder(live, mail_doc, mail_rx)
    by_sms = reminder(live, sms_doc, sms_rx)
    assert (by_mail.kind, by_mail.rule, by_mail.channel, by_mail.attempts) == (
        "prescriber_survey_needed", "R19", "email", 1)
    [mail] = live.mailbox.for_notification(by_mail.id)
    assert mail["to"] == "dr.a@clinic.example"
    assert mail["message_id"].startswith(f"<{delivery.idempotency_key(by_mail)}@")
    assert mail_rx in mail["body"] and "R19" in mail["body"]
    assert by_sms.channel == "webhook"
    assert live.gateway.keyed(by_sms.id) == [delivery.idempotency_key(by_sms)]
    assert live.gateway.delivered[delivery.idempotency_key(by_sms)]["to"] == "+15557654321"


def test_a_worker_killed_mid_send_is_restarted_and_the_reminder_is_delivered_once(live: Live) -> None:
    doc, rx = waiting_prescription(live, phone=HOLD_PHONE)  # the gateway holds this request
    live.send("rems.sweep")
    wait_for(live.gateway.holding.is_set, what="the gateway to receive the send")
    live.worker.kill()  # SIGKILL while the gateway has the message and has not answered
    killed = re.findall(r"rems\.send_notifications\[([0-9a-f-]+)\] received", live.worker.output())[-1]
    live.gateway.release.set()
    stuck = reminder(live, doc, rx, state=None)
    assert (stuck.state, stuck.attempts) == ("sending", 1)  # claimed; the outcome never written
    live.worker.start()

    def sent() -> bool:
        live.send("rems.relay")  # the relay re-publishes once the lease has run out
        return reminder(live, doc, rx, state=None).state == "sent"
    wait_for(sent, every=1.0, what="the reminder to be sent again")
    done = reminder(live, doc, rx)
    key = delivery.idempotency_key(done)
    assert done.attempts == 2
    assert live.gateway.keyed(done.id) == [key, key]  # the same key both times...
    assert [k for k in live.gateway.delivered if k == key] == [key]  # ...so delivered once
    # The killed worker's unacknowledged message comes back from Redis (acks_late, visibility
    # timeout) to the new worker, which runs it; the claim makes it send nothing a third time.
    wait_for(lambda: re.search(rf"rems\.send_notifications\[{killed}\] succeeded in [0-9.]+s: \{{'(sent|skipped)': \d+",
                               live.worker.output()), timeout=30, what="the killed task to be delivered again")
    assert live.gateway.keyed(done.id) == [key, key]


def test_a_duplicated_beat_tick_sends_nothing_twice(live: Live) -> None:
    doc, rx = waiting_prescription(live, email="dr.b@clinic.example")
    before = live.worker.output().count("rems.sweep[")
    live.send("rems.sweep")
    live.send("rems.sweep")  # two schedulers, or one tick delivered twice
    live.send("rems.relay")
    done = reminder(live, doc, rx)
    wait_for(lambda: live.worker.output().count("rems.sweep[") >= before + 4, timeout=30,
             what="both sweeps to finish")
    # One worker, one task at a time, in order: once a relay sent last has run, so has every send
    # task either sweep published.
    relays = live.worker.output().count("rems.relay[")
    live.send("rems.relay")
    wait_for(lambda: live.worker.output().count("rems.relay[") >= relays + 2, timeout=30,
             what="a last relay to run")
    with live.app.uow() as uow:
        ids = [n.id for n in uow.session.scalars(select(Notification).where(
            Notification.recipient == f"prescriber:{doc}"))]  # type: ignore[arg-type]
    assert ids == [done.id]
    assert len(live.mailbox.for_notification(done.id)) == 1


def test_a_failing_channel_is_retried_with_backoff_then_parked_visible_in_cli_and_api(
        live: Live, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    doc, rx = waiting_prescription(live, email=f"dr.c@{FAIL_DOMAIN}")

    def parked() -> bool:
        live.send("rems.relay")
        return reminder(live, doc, rx, state=None).state == "parked"
    live.send("rems.sweep")
    wait_for(parked, every=1.0, what="the reminder to be parked")
    row = reminder(live, doc, rx, state="parked")
    assert row.attempts == 3 and row.last_error is not None and "SMTP" in row.last_error.upper()
    assert len([m for m in live.mailbox.refused if delivery.idempotency_key(row) in m]) == 3
    assert live.mailbox.for_notification(row.id) == []

    monkeypatch.setattr(state, "app", live.app)  # the real `rems` entry point, in this process
    monkeypatch.setattr(state, "json", False)
    monkeypatch.setattr(sys, "argv", ["rems", "--json", "notifications", "parked"])
    run()
    assert row.id in {n["id"] for n in json.loads(capsys.readouterr().out)}

    with live.app.uow() as uow:
        issued = tokens.issue_token(uow, Context("admin", datetime.now(UTC)), tokens.IssueToken(
            role="admin", actor_id="ops"))
    with TestClient(create_app(live.app)) as client:
        auth = {"Authorization": f"Bearer {issued.secret}"}
        listed = client.get("/v1/admin/notifications/parked", headers=auth)
        assert listed.status_code == 200 and row.id in {n["id"] for n in listed.json()}
        retried = client.post(f"/v1/admin/notification-retries/{row.id}", headers=auth)
        assert retried.status_code == 200 and retried.json()["state"] == "pending"
    key = delivery.idempotency_key(row)
    wait_for(lambda: live.send("rems.relay") or sum(key in m for m in live.mailbox.refused) == 4,
             every=0.5, what="the retried reminder to be sent again")  # (and refused again)


def test_workers_sigkilled_mid_batch_send_no_reminder_twice_under_its_claim(live: Live) -> None:
    """Issue 14 item 7: 300 reminders in batches of 100 (one claim commit, one outcome commit per
    batch), the worker SIGKILLed twice while batches are in flight and restarted each time. Every
    reminder ends sent; a reminder reaches the gateway at most once per attempt (a second time
    only after its claim's lease ran out, with the same idempotency key), so the gateway, which
    honours the key, delivers each once; one whose batch outcome was committed is never sent again."""
    doc, _ = waiting_prescription(live, phone="+15557650000")
    now = datetime.now(UTC)
    reminders = [notifications.Reminder(f"prescriber:{doc}", "authorization_expiring", f"rx_batch_{i:03d}",
                                        now.date(), "R23") for i in range(300)]
    with live.app.uow() as uow:
        assert notifications.record(uow, Context("worker:sweep", now), reminders, frozenset({"webhook"})) == 300
        uow.commit()
        ids = [n.id for n in uow.session.scalars(select(Notification).where(
            Notification.recipient == f"prescriber:{doc}", Notification.kind == "authorization_expiring"))]  # type: ignore[arg-type]

    relayed = [0.0]

    def reached() -> int:
        if time.monotonic() - relayed[0] > 1:  # rows handed back (lease too short to send) go again
            live.send("rems.relay")
            relayed[0] = time.monotonic()
        return sum(1 for n in ids if live.gateway.keyed(n))
    for at_least in (40, 170):  # two kills, each while a batch is being sent
        wait_for(lambda at_least=at_least: reached() >= at_least, timeout=60, every=0.02,  # type: ignore[misc]
                 what=f"{at_least} reminders at the gateway")
        live.worker.kill()
        live.worker.start()

    def all_sent() -> bool:
        live.send("rems.relay")  # re-publishes the rows of a killed batch once their lease ended
        with live.app.uow() as uow:
            states = set(uow.session.scalars(select(Notification.state).where(  # type: ignore[call-overload]
                Notification.id.in_(ids))))  # type: ignore[attr-defined]
        return states == {"sent"}
    wait_for(all_sent, timeout=120, every=1.0, what="every reminder to be sent")
    with live.app.uow() as uow:
        rows = {n.id: n for n in uow.session.scalars(select(Notification).where(Notification.id.in_(ids)))}  # type: ignore[attr-defined]
        audited = [a.trigger for n in ids for a in uow.audit_trail("notification", n)]
        uow.session.expunge_all()
    resent = 0
    for notification_id, row in rows.items():
        keys = live.gateway.keyed(notification_id)
        assert set(keys) == {delivery.idempotency_key(row)}, keys  # never a new key
        assert 1 <= len(keys) <= row.attempts <= 3, (len(keys), row.attempts)
        resent += len(keys) > 1
    assert resent <= 2 * 100  # only rows of the two batches in flight at a kill
    assert len({k for n in ids for k in live.gateway.keyed(n)} & set(live.gateway.delivered)) == 300
    assert audited == ["sent"] * 300  # one audit entry per reminder, whatever the retries
