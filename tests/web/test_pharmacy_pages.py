"""The pharmacist's pages: every requirement met or unmet (R1-R30), confirmation (R26), dispense (R29, R33)."""

from __future__ import annotations

import re

from rems.domain.model import Confirmation, Dispense
from rems.services.commands import RecordPregnancyTest, parse
from rems.services.enrollment import patients
from tests.api.conftest import Clock
from tests.api.world import World
from tests.web.conftest import Browser, signed_in

HOME = "/web/pharmacy"
CHECKLIST = {"counselled": "on", "education_checklist_completed": "on", "medication_guide_given": "on"}


def test_a_patient_on_hold_is_refused_with_every_reason_then_confirmed_and_dispensed_after_a_new_test(
        browser: Browser, w: World, clock: Clock) -> None:
    w.frp_ready()
    _, number = w.authorization(w.frp, w.doc)
    w.call(patients.report_missed_period, w.frp, w.doc)  # R12: on hold until a new negative test
    signed_in(browser, w, w.pharm)
    refused = browser.submit(f"{HOME}/check", {"number": number}, HOME)
    assert refused.status_code == 200
    assert 'data-testid="verdict">Refused: 1 requirement not met' in refused.text
    unmet = re.findall(r'<li class="unmet" data-rule="([^"]+)" data-code="([^"]+)"', refused.text)
    assert unmet == [("R12", "R12_PATIENT_ON_HOLD")]
    assert "<dt>What to do</dt><dd>Record a new negative pregnancy test" in refused.text  # 18.1: plain words
    assert "Obtain a confirmation number" not in refused.text
    assert browser.submit(f"{HOME}/confirmations", {"number": number}, HOME).status_code == 409
    assert w.count(Confirmation) == 0

    w.call(patients.record_pregnancy_test, parse(RecordPregnancyTest, patient_id=w.frp, collected_at=clock(),
                                                 result="negative", sensitivity_miu_per_ml=25), w.doc)
    allowed = browser.submit(f"{HOME}/check", {"number": number}, HOME)
    assert "Every requirement is met" in allowed.text and 'class="unmet"' not in allowed.text
    confirmed = browser.submit(f"{HOME}/confirmations", {"number": number}, HOME)
    assert confirmed.status_code == 201
    found = re.search(r'data-testid="confirmation-number">(C-\d+)<', confirmed.text)
    assert found
    incomplete = browser.submit(f"{HOME}/dispenses", {"confirmation_number": found.group(1),
                                                      "counselled": "on"}, HOME)
    assert incomplete.status_code == 409 and "R29_COUNSELLING_INCOMPLETE" in incomplete.text
    assert w.count(Dispense) == 0
    done = browser.submit(f"{HOME}/dispenses", {"confirmation_number": found.group(1), **CHECKLIST}, HOME)
    assert done.status_code == 201 and "Dispense recorded" in done.text
    again = browser.submit(f"{HOME}/check", {"number": number}, HOME)
    assert "R33_ALREADY_DISPENSED" in again.text
    assert w.count(Dispense) == 1


def test_an_unknown_number_or_another_patients_is_shown_beside_the_field(browser: Browser, w: World) -> None:
    signed_in(browser, w, w.pharm)
    for form in ({"number": "POM-0000000000"}, {"number": w.number, "patient_id": w.frp}):
        response = browser.submit(f"{HOME}/check", form, HOME)
        assert response.status_code == 404
        assert re.search(r'id="f-number-error">No authorization', response.text)
    assert browser.submit(f"{HOME}/check", {"number": ""}, HOME).status_code == 422


def test_another_pharmacys_confirmation_cannot_be_dispensed(browser: Browser, w: World) -> None:
    number = w.confirmation(w.number, w.other_pharm)
    signed_in(browser, w, w.pharm)
    response = browser.submit(f"{HOME}/dispenses", {"confirmation_number": number, **CHECKLIST}, HOME)
    assert response.status_code == 404 and 'id="f-confirmation_number-error"' in response.text
    assert w.count(Dispense) == 0
