"""Issue 18 (office lane): contact details at enrollment, the strength on the authorization, and
the needs-action list's R20 survey and R11 test reasons, on both stores.

Oracles: the values typed here, in the normalised forms E.164 and RFC 5322 syntax give them
("+1 (555) 010-0123" is "+15550100123"); the rules text for the dates: R28 (the next dispense
only when at most 7 days of supply remain: a 28-day dispense on day 0 reopens on day 21), R20 (a
male: one survey for each prescription after the first, completed after the previous dispense, so
needed by day 21), R11 (weekly tests for the first 4 weeks of treatment), the 3 lead days and 7
lookback days of the reminders (settings' defaults)."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rems.adapters import orm
from rems.domain.model import Patient, Prescriber, Prescription
from rems.services.commands import RecordDispense, RecordPatientSurvey, parse
from rems.services.dispensing import prescriptions
from rems.services.enrollment import patients
from tests.api.conftest import Clock
from tests.api.world import ADMIN, World
from tests.service.builders import npi_of
from tests.web.conftest import Browser, signed_in

ENROLL = "/web/prescriber/patients/new"
PHONE, PHONE_E164 = "+1 (555) 010-0123", "+15550100123"
EMAIL = "Jo.Patient@Example.ORG"
GUARDIAN_PHONE, GUARDIAN_EMAIL = "+44 20 7946 0958", "parent@example.net"
OFFICE_PHONE, OFFICE_EMAIL = "+1 555 010 0199", "front-desk@clinic.example"
SECRETS = ("5550100123", "555) 010", "Jo.Patient", "jo.patient", "79460958", "parent@", "0100199", "front-desk")


def _body(**change: Any) -> dict[str, Any]:
    return {"name": "Jo Patient", "sex": "male", "birth_date": "1980-05-01",
            "ppaf": {"category": "adult_male"}, **change}


def _problem(response: Any) -> tuple[str, str]:
    assert response.status_code == 422, (response.status_code, response.text[:300])
    return str(response.json()["field"]), str(response.json()["detail"])


def _contact_rows(w: World) -> list[Any]:
    with w.app.uow() as uow:
        return list(uow.session.execute(select(orm.contact_details)).all())


def _audit_and_logs_hold_none(w: World, caplog: pytest.LogCaptureFixture) -> None:
    with w.app.uow() as uow:
        audit = " ".join(str(tuple(row)) for row in uow.session.execute(select(orm.audit_log)).all())
    for secret in SECRETS:
        assert secret not in caplog.text, secret
        assert secret not in audit, secret


def test_the_api_keeps_a_patients_contact_normalised_and_refuses_bad_ones_by_field(
        client: TestClient, w: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    doc = w.auth(w.doc)
    before = w.count(Patient)
    refusals = [
        ({"phone": "555-0123"}, "contact.phone", "international number"),  # no country code
        ({"phone": "+1 555 010 0123 ext 4"}, "contact.phone", "international number"),
        ({"email": "jo.patient@example"}, "contact.email", "e-mail address"),  # no dot in the domain
        ({"email": "Jo Patient@example.org"}, "contact.email", "e-mail address"),
        ({"email": EMAIL, "preferred": "sms"}, "contact.preferred", "phone number"),
        ({"phone": PHONE, "preferred": "email"}, "contact.preferred", "e-mail address"),
        ({"guardian_phone": GUARDIAN_PHONE}, "contact.guardian_phone", "R6"),  # the patient signed
        ({"preferred": "pigeon"}, "contact.preferred", ""),
    ]
    for contact, field, reason in refusals:
        field_named, detail = _problem(client.post("/v1/prescriber/patients", headers=doc,
                                                   json=_body(contact=contact)))
        assert field_named.endswith(field.split(".")[-1]) and reason in detail, (contact, field_named, detail)
        for name, value in contact.items():
            if name != "preferred":  # a phone or an address is never repeated (a log line would keep it)
                assert value not in detail
    assert w.count(Patient) == before and _contact_rows(w) == []  # nothing half-written

    created = client.post("/v1/prescriber/patients", headers=doc, json=_body(
        contact={"phone": PHONE, "email": EMAIL, "preferred": "sms"}))
    assert created.status_code == 201, created.text
    patient_id = created.json()["id"]
    [row] = _contact_rows(w)
    assert (row.holder_kind, row.holder_id, row.phone, row.email, row.preferred) == (
        "patient", patient_id, PHONE_E164, "Jo.Patient@example.org", "sms")
    assert row.guardian_phone is None and row.guardian_email is None
    _audit_and_logs_hold_none(w, caplog)


def test_a_minors_guardian_contact_is_kept_when_a_guardian_signs_r6(client: TestClient, w: World) -> None:
    child = _body(name="Kim Child", birth_date="2015-02-01", ppaf={
        "category": "child_male", "signed_by": "guardian", "guardian_name": "Pat Parent"},
        contact={"guardian_phone": GUARDIAN_PHONE, "guardian_email": GUARDIAN_EMAIL, "preferred": None})
    created = client.post("/v1/prescriber/patients", headers=w.auth(w.doc), json=child)
    assert created.status_code == 201, created.text
    [row] = _contact_rows(w)
    assert (row.phone, row.guardian_phone, row.guardian_email) == (None, "+442079460958", GUARDIAN_EMAIL)


def test_the_enrollment_form_shows_the_error_beside_the_field_then_the_patient_page_the_contact(
        browser: Browser, w: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    signed_in(browser, w, w.doc)
    form = {"name": "Jo Patient", "sex": "male", "birth_date": "1980-05-01", "ppaf.category": "adult_male",
            "contact.phone": "0101 555", "contact.email": EMAIL, "contact.preferred": "phone"}
    before = w.count(Patient)
    bad = browser.submit(ENROLL, form, ENROLL)
    assert bad.status_code == 422 and w.count(Patient) == before
    assert re.search(r'id="f-contact-phone-error">[^<]*international number', bad.text)
    assert 'id="f-contact-phone" name="contact.phone" value="0101 555"' in bad.text  # kept as typed
    assert '<a href="#f-contact-phone">contact.phone</a>' in bad.text  # the summary links to it

    done = browser.submit(ENROLL, {**form, "contact.phone": PHONE}, ENROLL)
    assert done.status_code == 303, done.text[:500]
    page = browser.get(done.headers["location"]).text
    assert f'data-testid="contact-phone">{PHONE_E164}<' in page
    assert 'data-testid="contact-email">Jo.Patient@example.org<' in page
    assert 'data-testid="contact-preferred">phone call<' in page
    assert "contact-guardian-phone" not in page  # no guardian signed
    assert "No contact details were given" in browser.get(f"/web/prescriber/patients/{w.male}").text
    _audit_and_logs_hold_none(w, caplog)


def test_a_prescribers_office_contact_is_entered_by_staff_and_shown_where_it_is_needed(
        browser: Browser, client: TestClient, w: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    admin = w.auth(ADMIN)
    doc = {"name": "Dr Office", "npi": npi_of(77, 150_000_000), "attested": True, "education_reviewed": True}
    field, _ = _problem(client.post("/v1/admin/prescribers", headers=admin, json={**doc, "office_phone": "12"}))
    assert field == "office_phone" and w.count(Prescriber, Prescriber.npi == doc["npi"]) == 0
    field, _ = _problem(client.post("/v1/admin/prescribers", headers=admin,
                                    json={**doc, "office_email": "desk.example"}))
    assert field == "office_email"
    # the dashboard's enrollment form, a bad one first, the error beside it
    signed_in(browser, w, ADMIN)
    page = "/web/admin/enroll/prescriber"
    form = {"name": "Dr Office", "npi": doc["npi"], "office_phone": OFFICE_PHONE, "office_email": "nope"}
    bad = browser.submit(page, form, page)
    assert bad.status_code == 422 and 'id="f-office_email-error"' in bad.text, bad.text[-3000:]
    done = browser.submit(page, {**form, "office_email": OFFICE_EMAIL}, page)
    assert done.status_code == 303, done.text[:300]
    holder = browser.get(done.headers["location"]).text
    assert 'data-testid="office-phone">+15550100199<' in holder and f'data-testid="office-email">{OFFICE_EMAIL}<' in holder
    # the pharmacist sees whom to call about w.doc's authorization
    with w.app.uow() as uow:
        uow.session.execute(orm.contact_details.insert().values(
            holder_kind="prescriber", holder_id=w.doc, phone="+15550100199", email=OFFICE_EMAIL,
            recorded_at=w.clock()))
        uow.commit()
    check = _as(browser, w, w.pharm).submit("/web/pharmacy/check", {"number": w.number}, "/web/pharmacy").text
    assert re.search(rf'data-testid="prescriber-office">Office: \+15550100199 · {OFFICE_EMAIL}<', check)
    assert 'data-testid="office-contact">office +15550100199' in _as(browser, w, w.doc).get("/web/prescriber").text
    _audit_and_logs_hold_none(w, caplog)


def test_the_strength_ordered_reaches_the_api_the_check_and_the_receipt(
        browser: Browser, client: TestClient, w: World) -> None:
    doc = w.auth(w.doc)
    patient = w.patient(w.doc, "adult_male")
    rx = {"patient_id": patient, "days_supply": 28, "quantity": 28, "prescriber_survey_completed": True}
    for bad in ("four mg", "4", "4 kg", "mg 4"):
        assert _problem(client.post("/v1/prescriber/prescriptions", headers=doc, json={**rx, "strength": bad}))[0] \
            == "strength"
    assert w.count(Prescription, Prescription.patient_id == patient) == 0
    made = client.post("/v1/prescriber/prescriptions", headers=doc, json={**rx, "strength": "4mg"})
    assert made.status_code == 201 and made.json()["authorized"], made.text
    assert made.json()["strength"] == "4 mg"
    number = made.json()["number"]
    signed_in(browser, w, w.pharm)
    check = browser.submit("/web/pharmacy/check", {"number": number}, "/web/pharmacy").text
    assert 'data-testid="strength">4 mg<' in check and "not recorded" not in check.split('data-testid="strength"')[1][:80]
    old = browser.submit("/web/pharmacy/check", {"number": w.number}, "/web/pharmacy").text  # written without one
    assert re.search(r'data-testid="strength">not recorded with this authorization', old)
    confirmation = w.confirmation(number, w.pharm)
    assert 'data-testid="receipt-strength">4 mg<' in browser.get(f"/web/pharmacy/receipts/{confirmation}").text
    page = _as(browser, w, w.doc).get(f"/web/prescriber/patients/{patient}").text
    assert '<td data-label="Strength">4 mg</td>' in page
    form = browser.submit(f"/web/prescriber/patients/{patient}/prescriptions",
                          {"days_supply": "28", "quantity": "28", "strength": "lots"}, f"/web/prescriber/patients/{patient}")
    assert form.status_code == 422 and 'id="f-strength-error"' in form.text


def _as(browser: Browser, w: World, actor: str) -> Browser:
    browser.client.cookies.clear()  # another person at the same browser
    return signed_in(browser, w, actor)


def _needs(browser: Browser, w: World) -> str:
    w.token("prescriber", w.doc)  # a fresh one: the clock moves past 30 days below
    return _as(browser, w, w.doc).get("/web/prescriber").text


def _reasons_of(page: str, patient_id: str) -> list[str]:
    row = re.search(rf'<tr data-patient="{patient_id}">(.*?)</tr>', page, re.S)
    return re.findall(r'data-reason="([^"]+)"', row.group(1)) if row else []


def _count(page: str, reason: str) -> int:
    found = re.search(rf'data-need="{reason}">[^<]+<strong>(\d+)</strong>', page)
    assert found, reason
    return int(found.group(1))


def test_needs_action_lists_the_patient_survey_due_then_overdue_r20_r28(
        browser: Browser, w: World, clock: Clock) -> None:
    confirmation = w.confirmation(w.number, w.pharm)
    w.call(prescriptions.record_dispense, parse(
        RecordDispense, confirmation_number=confirmation, pharmacy_id=w.pharm, counselled=True,
        education_checklist_completed=True, medication_guide_given=True))  # day 0: 28 days of supply
    stranger_confirmation = w.confirmation(w.stranger_number, w.other_pharm)
    w.call(prescriptions.record_dispense, parse(
        RecordDispense, confirmation_number=stranger_confirmation, pharmacy_id=w.other_pharm,
        counselled=True, education_checklist_completed=True, medication_guide_given=True))
    clock.advance(days=17)  # the survey is needed by day 21 (R28 reopens); 4 days ahead, beyond the lead
    page = _needs(browser, w)
    assert "survey_due" not in _reasons_of(page, w.male) and _count(page, "survey_due") == 0
    clock.advance(days=1)  # day 18: 3 days ahead
    page = _needs(browser, w)
    assert _reasons_of(page, w.male) == ["survey_due"] and _count(page, "survey_due") == 1
    assert w.stranger not in page  # R5: another prescriber's patient, due alike, is not listed
    clock.advance(days=3)  # day 21: due today, still "due"
    assert _reasons_of(_needs(browser, w), w.male) == ["survey_due"]
    clock.advance(days=1)  # day 22: overdue
    page = _needs(browser, w)
    assert _reasons_of(page, w.male) == ["survey_overdue"]
    assert _count(page, "survey_overdue") == 1 and _count(page, "survey_due") == 0
    assert page.index(f'data-patient="{w.male}"') < page.index('id="patients"')
    w.call(patients.record_patient_survey, parse(RecordPatientSurvey, patient_id=w.male))
    assert _reasons_of(_needs(browser, w), w.male) == []  # done: off the list


def test_needs_action_keeps_a_long_overdue_pregnancy_test_r11(browser: Browser, w: World, clock: Clock) -> None:
    w.frp_ready()
    _, number = w.authorization(w.frp, w.doc)
    w.call(prescriptions.record_dispense, parse(
        RecordDispense, confirmation_number=w.confirmation(number, w.pharm), pharmacy_id=w.pharm,
        counselled=True, education_checklist_completed=True, medication_guide_given=True))
    clock.advance(days=4)  # the last test (an hour before the Rx) + 7 days: 3 days ahead
    page = _needs(browser, w)
    assert "test_due" in _reasons_of(page, w.frp) and _count(page, "test_due") == 1
    clock.advance(days=4)  # 8 days: overdue, inside the reminders' lookback
    page = _needs(browser, w)
    assert "test_overdue" in _reasons_of(page, w.frp) and "test_due" not in _reasons_of(page, w.frp)
    clock.advance(days=30)  # long past the lookback: the reminders stop, the list does not
    page = _needs(browser, w)
    assert "test_overdue" in _reasons_of(page, w.frp) and _count(page, "test_overdue") == 1
