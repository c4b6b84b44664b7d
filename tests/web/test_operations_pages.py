"""The administrator's outbox with parked notifications (issue 4) and reports with plots (issue 6)."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

from rems.domain.model import Notification
from rems.services.commands import RecordDispense, parse
from rems.services.context import Context
from rems.services.dispensing import prescriptions
from rems.services.reminders import notifications
from tests.api.conftest import Clock
from tests.api.world import ADMIN, World
from tests.web.conftest import Browser, signed_in

ONCE = notifications.Policy(max_attempts=1)


def _parked_reminder(w: World, clock: Clock) -> str:
    reminder = notifications.Reminder(recipient=f"patient:{w.frp}", kind="test_due_soon", subject=w.frp,
                                      due_on=clock().date() + timedelta(days=2), rule="R11")
    with w.app.uow() as uow:
        notifications.record(uow, Context("setup", clock()), [reminder], frozenset())
        uow.commit()
    with w.app.uow() as uow:
        (found,) = uow.session.query(Notification).all()
        key = found.id
    claimed = w.call(notifications.claim, key, ONCE)
    assert claimed is not None
    assert w.call(notifications.finish, claimed, "smtp: 550 mailbox unavailable", ONCE) == "parked"
    return key


def test_a_parked_notification_is_listed_and_retried_back_to_pending(
        browser: Browser, w: World, clock: Clock) -> None:
    key = _parked_reminder(w, clock)
    signed_in(browser, w, ADMIN)
    page = browser.get("/web/admin/outbox").text
    parked = page.split('id="parked"', 1)[1].split('id="outbox"', 1)[0]
    assert key in parked and "550 mailbox unavailable" in parked
    done = browser.submit(f"/web/admin/outbox/{key}/retry", {}, "/web/admin/outbox")
    assert done.status_code == 303
    assert w.state_of(Notification, key) == "pending"
    again = browser.submit(f"/web/admin/outbox/{key}/retry", {}, "/web/admin/outbox")
    assert again.status_code == 409 and "only a parked one can be retried" in again.text
    assert browser.get("/web/admin/outbox", params={"state": "bogus"}).status_code == 422
    assert f'data-notification="{key}" data-state="pending"' in browser.get(
        "/web/admin/outbox", params={"state": "pending"}).text


def test_reports_show_the_periods_figures_and_both_plots(browser: Browser, w: World, clock: Clock) -> None:
    confirmation = w.confirmation(w.number, w.pharm)
    w.call(prescriptions.record_dispense, parse(RecordDispense, confirmation_number=confirmation,
                                                pharmacy_id=w.pharm, counselled=True,
                                                education_checklist_completed=True, medication_guide_given=True))
    signed_in(browser, w, ADMIN)
    page = browser.get("/web/admin/reports").text
    assert re.search(r'data-testid="dispenses">1<', page)
    images = re.findall(r'<img class="plot" src="data:image/png;base64,([^"]+)" alt="([^"]+)"', page)
    assert len(images) == 2 and all(base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n" for data, _ in images)
    assert w.doc in page and w.pharm in page


def test_a_bad_report_period_is_named_beside_its_field(browser: Browser, w: World) -> None:
    signed_in(browser, w, ADMIN)
    for query, field, reason in (({"start": "yesterday"}, "start", "a date like"),
                                 ({"start": "2026-03-02", "end": "2026-03-01"}, "end", "must be after start"),
                                 ({"start": "0001-01-01"}, "start", "must be between")):
        response = browser.get("/web/admin/reports", params=query)
        assert response.status_code == 422, response.text[:300]
        assert re.search(rf'id="f-{field}-error">{reason}', response.text), field
