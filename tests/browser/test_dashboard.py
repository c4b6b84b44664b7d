"""The dashboard in a real browser (Chromium): the three scenarios of issue 7, each page checked for
basic accessibility, and screenshots of the main pages saved as artifacts (`make screenshots` refreshes docs/screenshots/)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from rems.services.enrollment import patients
from tests.api.world import ADMIN
from tests.browser.a11y import assert_accessible, assert_fits
from tests.browser.conftest import NARROW, Server, shot
from tests.web import survey_answers

OpenPage = Callable[..., Page]


def _sign_in_with_the_keyboard(page: Page, token: str) -> None:
    """Tab from the top of the sign-in page to the token field, type, press Enter: no mouse."""
    page.goto("/web/login")
    assert_accessible(page)
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "f-token":
            break
    else:
        raise AssertionError("the token field is not reachable with Tab")
    page.keyboard.type(token)
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def _local(moment: datetime) -> str:
    """T1: the form takes the patient's wall-clock time (the cast's zone is the program's)."""
    return moment.astimezone(ZoneInfo("America/New_York")).strftime("%Y-%m-%dT%H:%M")


def test_a_prescriber_takes_an_frp_patient_from_enrollment_to_an_authorization(
        server: Server, open_page: OpenPage) -> None:
    w = server.world()
    doc = open_page()
    doc.goto("/web/login")
    shot(doc, "login")
    _sign_in_with_the_keyboard(doc, w.tokens[w.doc])
    expect(doc.get_by_role("heading", level=1)).to_have_text("Prescriber dashboard")
    assert_accessible(doc)
    shot(doc, "prescriber-dashboard")

    doc.get_by_role("link", name="Enroll a patient (PPAF)").click()
    doc.get_by_label("Full name").fill("Frida Browser")
    doc.get_by_label("Sex").select_option("female")
    doc.get_by_label("Birth date").fill("1990-01-31")
    doc.get_by_label("Risk category").select_option("adult_frp")
    for fact, answer in (("Has reached menarche", "yes"), ("Hysterectomy", "no"),
                         ("Bilateral oophorectomy", "no"), ("Naturally postmenopausal", "no")):
        doc.get_by_role("group", name=fact).get_by_label(answer).check()  # R35: every fact stated
    assert_accessible(doc)
    doc.get_by_role("button", name="Enroll with this PPAF").click()
    expect(doc.get_by_role("heading", level=1)).to_have_text("Frida Browser")
    expect(doc.get_by_test_id("patient-state")).to_have_text("active")
    expect(doc.locator('li.unmet[data-code="R9_EARLY_TEST_MISSING"]').first).to_be_visible()
    patient_id = doc.url.rsplit("/", 1)[1]

    now = datetime.now(UTC)
    for collected in (now - timedelta(days=12), now - timedelta(hours=1)):
        doc.get_by_label("Collected at (America/New_York)").fill(_local(collected))
        doc.get_by_label("Sensitivity (mIU/mL)").fill("50")
        doc.get_by_role("button", name="Record the test").click()
        expect(doc.get_by_role("heading", level=1)).to_have_text("Frida Browser")
    expect(doc.locator('#gates li.unmet[data-rule="R9"]')).to_have_count(0)  # 18.7: a met one reads MET
    expect(doc.locator('#gates ~ details li.met[data-rule="R9"]').first).to_have_attribute("data-code", "MET")

    w.token("patient", patient_id)  # the patient signs in with her own token for her survey (R20)
    patient = open_page(NARROW)
    _sign_in_with_the_keyboard(patient, w.tokens[patient_id])
    assert_accessible(patient)
    # issue 16.3: the program's questions; the right answers are the program file's (knowledge questions)
    for link_id, answer in survey_answers.POMALIDOMIDE.items():
        patient.locator(f'select[name="answers.{link_id}"]').select_option(answer)
    patient.get_by_role("button", name="Submit my answers").click()
    expect(patient.get_by_text("by the patient")).to_be_visible()

    doc.reload()
    doc.get_by_label("Quantity (capsules)").fill("21")
    doc.get_by_label("I counselled on two reliable contraception methods (R15)").check()
    doc.get_by_role("button", name="Request the authorization").click()
    # issue 16.3: R19 is the program's prescriber survey, answered on its own page
    doc.get_by_role("link", name="Prescriber survey (R19): answer it, then authorize").click()
    for link_id, answer in survey_answers.PRESCRIBER.items():
        doc.locator(f'select[name="{link_id}"]').select_option(answer)
    assert_accessible(doc)
    doc.get_by_role("button", name="Submit the survey (R19)").click()
    expect(doc.get_by_test_id("authorization-number")).to_have_text(re.compile(r"^POM-\d{10}$"))
    expect(doc.get_by_test_id("authorization-expiry")).to_have_text(re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d E[SD]T"))
    expect(doc.locator('figure[data-workflow="patient"] li[aria-current]')).to_have_text("active")
    assert_accessible(doc)
    shot(doc, "prescriber-patient-authorized")

    narrow = open_page(NARROW)
    narrow.goto("/web/login")
    narrow.get_by_label("Access token").fill(w.tokens[w.doc])
    narrow.get_by_role("button", name="Sign in").click()
    narrow.goto(doc.url)  # the patient page showing the new authorization
    expect(narrow.get_by_test_id("authorization-number")).to_be_visible()
    assert_fits(narrow)
    shot(narrow, "prescriber-patient-narrow")


def test_a_pharmacist_is_refused_with_the_reasons_then_succeeds_after_the_missing_test(
        server: Server, open_page: OpenPage) -> None:
    # Set up minutes ago: the test the prescriber records now (to the minute) follows the hold.
    w = server.world(ago=timedelta(minutes=5))
    w.frp_ready()
    _, number = w.authorization(w.frp, w.doc)
    w.call(patients.report_missed_period, w.frp, w.doc)  # R12: on hold until a new negative test

    pharmacist = open_page()
    _sign_in_with_the_keyboard(pharmacist, w.tokens[w.pharm])
    pharmacist.get_by_label("Authorization number").fill(number)
    pharmacist.get_by_role("button", name="Check every requirement").click()
    expect(pharmacist.get_by_test_id("verdict")).to_have_text(re.compile("^Refused: 1 requirement not met"))
    refused = pharmacist.locator('li.unmet[data-code="R12_PATIENT_ON_HOLD"]')
    expect(refused).to_contain_text("Record a new negative pregnancy test")
    expect(refused.get_by_test_id("who")).to_have_text("the prescriber")
    expect(pharmacist.get_by_role("button", name="Obtain a confirmation number")).to_have_count(0)
    assert_accessible(pharmacist)
    shot(pharmacist, "pharmacy-refused")

    doc = open_page()
    _sign_in_with_the_keyboard(doc, w.tokens[w.doc])
    doc.goto(f"/web/prescriber/patients/{w.frp}")
    expect(doc.get_by_test_id("patient-state")).to_have_text("on_hold")
    doc.get_by_label("Collected at (America/New_York)").fill(_local(datetime.now(UTC)))
    doc.get_by_label("Sensitivity (mIU/mL)").fill("25")
    doc.get_by_role("button", name="Record the test").click()
    expect(doc.get_by_test_id("patient-state")).to_have_text("active")

    pharmacist.get_by_role("button", name="Check every requirement").click()
    expect(pharmacist.get_by_test_id("verdict")).to_have_text(re.compile("^Every requirement is met"))
    expect(pharmacist.locator("li.unmet")).to_have_count(0)
    pharmacist.get_by_role("button", name="Obtain a confirmation number").click()
    expect(pharmacist.get_by_test_id("confirmation-number")).to_have_text(re.compile(r"^C-\d{10}$"))
    pharmacist.get_by_label("The patient was counselled on the risks").check()
    pharmacist.get_by_label("The education checklist is completed").check()
    pharmacist.get_by_label("The Medication Guide was handed over").check()
    assert_accessible(pharmacist)
    pharmacist.get_by_role("button", name="Record the dispense").click()
    expect(pharmacist.get_by_role("heading", name="Dispense recorded")).to_be_visible()
    assert_accessible(pharmacist)
    shot(pharmacist, "pharmacy-dispensed")


def test_a_prescriber_cannot_see_another_prescribers_patient(server: Server, open_page: OpenPage) -> None:
    w = server.world()
    doc = open_page()
    _sign_in_with_the_keyboard(doc, w.tokens[w.doc])
    expect(doc.locator(f'tr[data-patient="{w.frp}"]')).to_have_count(1)
    expect(doc.locator(f'tr[data-patient="{w.stranger}"]')).to_have_count(0)
    response = doc.goto(f"/web/prescriber/patients/{w.stranger}")
    assert response is not None and response.status == 404
    expect(doc.get_by_role("heading", level=1)).to_have_text("Not found")
    assert_accessible(doc)

    admin = open_page()
    _sign_in_with_the_keyboard(admin, w.tokens[ADMIN])
    expect(admin.get_by_role("heading", level=1)).to_have_text("Certification queue")
    assert_accessible(admin)
    shot(admin, "admin-queue")
    admin.goto("/web/admin/audit")
    admin.get_by_label("Kind of record").select_option("api")
    admin.get_by_label("Record id").fill(w.doc)
    admin.get_by_role("button", name="Show the trail").click()
    expect(admin.get_by_text("AUTH_NOT_FOUND_OR_NOT_YOURS")).to_be_visible()
    admin.get_by_label("Kind of record").select_option("patient")
    admin.get_by_label("Record id").fill(w.frp)
    admin.get_by_role("button", name="Show the trail").click()
    expect(admin.locator('figure[data-workflow="patient"] li[aria-current]')).to_have_text("active")
    assert_accessible(admin)
    shot(admin, "admin-audit-trail")
    admin.get_by_role("link", name="Outbox").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Reminder outbox")
    assert_accessible(admin)
    admin.get_by_role("link", name="Reports").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Compliance reports")
    expect(admin.locator("img.plot")).to_have_count(2)
    assert_accessible(admin)
    shot(admin, "admin-reports")
