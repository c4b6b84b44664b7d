"""Issue 18 (office lane) in Chromium: contact details entered at enrollment (a bad phone refused
beside its field), shown on the patient's page; the strength ordered reaching the pharmacist's
check; the needs-action list with R20's survey and R11's test reasons. axe-core on each page (no
serious or critical finding), 375 px, and the screenshots of docs/dashboard.md.

Oracles: the values typed here; R28 and R20 (a 28-day dispense 19 days ago reopens on day 21, and
the survey for that next prescription is due then: within the 3 lead days); R11 (weekly tests
while treatment starts: a test 19 days old is overdue)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from playwright.sync_api import Page, expect

from rems.services.commands import RecordDispense, parse
from rems.services.dispensing import prescriptions
from tests.browser.a11y import assert_fits
from tests.browser.axe import assert_axe_clean
from tests.browser.conftest import NARROW, Server, shot
from tests.browser.test_dashboard import _sign_in_with_the_keyboard
from tests.web import survey_answers

OpenPage = Callable[..., Page]


def test_contact_details_and_the_strength_from_enrollment_to_the_counter(
        server: Server, open_page: OpenPage) -> None:
    w = server.world()
    doc = open_page()
    _sign_in_with_the_keyboard(doc, w.tokens[w.doc])
    doc.get_by_role("link", name="Enroll a patient (PPAF)").click()
    doc.get_by_label("Full name").fill("Mateo Contact")
    doc.get_by_label("Sex").select_option("male")
    doc.get_by_label("Birth date").fill("1984-06-15")
    doc.get_by_label("Risk category").select_option("adult_male")
    doc.get_by_label("Patient's phone").fill("555 0142")  # no country code
    doc.get_by_label("Patient's e-mail").fill("mateo@example.org")
    doc.get_by_label("Preferred contact").select_option("sms")
    doc.get_by_role("button", name="Enroll with this PPAF").click()
    expect(doc.locator("#f-contact-phone-error")).to_contain_text("international number")
    expect(doc.get_by_label("Patient's phone")).to_have_attribute("aria-invalid", "true")
    expect(doc.get_by_label("Patient's e-mail")).to_have_value("mateo@example.org")  # kept as typed
    assert_axe_clean(doc)
    shot(doc, "prescriber-enroll-contact-error")
    doc.get_by_label("Patient's phone").fill("+1 555 010 0142")
    doc.get_by_role("button", name="Enroll with this PPAF").click()
    expect(doc.get_by_test_id("contact-phone")).to_have_text("+15550100142")
    expect(doc.get_by_test_id("contact-preferred")).to_have_text("text message")
    doc.get_by_label("Quantity (capsules)").fill("28")
    doc.get_by_label("Strength (optional)").fill("4 mg")
    doc.get_by_role("button", name="Request the authorization").click()
    # issue 16.3: R19 is the program's prescriber survey, answered on its own page
    doc.get_by_role("link", name="Prescriber survey (R19): answer it, then authorize").click()
    for link_id, answer in survey_answers.PRESCRIBER.items():
        doc.locator(f'select[name="{link_id}"]').select_option(answer)
    doc.get_by_role("button", name="Submit the survey (R19)").click()
    number = doc.get_by_test_id("authorization-number").inner_text()
    expect(doc.locator('td[data-label="Strength"]').first).to_have_text("4 mg")
    assert_axe_clean(doc)
    shot(doc, "prescriber-patient-contact")

    pharmacist = open_page()
    _sign_in_with_the_keyboard(pharmacist, w.tokens[w.pharm])
    pharmacist.get_by_label("Authorization number").fill(number)
    pharmacist.get_by_role("button", name="Check every requirement").click()
    expect(pharmacist.get_by_test_id("strength")).to_have_text("4 mg")
    assert_axe_clean(pharmacist)

    narrow = open_page(NARROW)
    _sign_in_with_the_keyboard(narrow, w.tokens[w.doc])
    narrow.goto("/web/prescriber/patients/new")
    assert_fits(narrow)
    assert_axe_clean(narrow)


def test_needs_action_shows_the_survey_and_the_test_due_with_counts(server: Server, open_page: OpenPage) -> None:
    w = server.world(ago=timedelta(days=19))  # everything below happened 19 days ago
    w.frp_ready()
    _, frp_number = w.authorization(w.frp, w.doc)
    for number in (w.number, frp_number):
        w.call(prescriptions.record_dispense, parse(
            RecordDispense, confirmation_number=w.confirmation(number, w.pharm), pharmacy_id=w.pharm,
            counselled=True, education_checklist_completed=True, medication_guide_given=True))
    w.token("prescriber", w.doc, days=30)

    page = open_page()
    _sign_in_with_the_keyboard(page, w.tokens[w.doc])
    needs = page.get_by_test_id("needs-action")
    expect(needs.locator(f'tr[data-patient="{w.male}"] [data-reason="survey_due"]')).to_be_visible()
    expect(needs.locator(f'tr[data-patient="{w.frp}"] [data-reason="test_overdue"]')).to_be_visible()
    expect(needs.locator(f'tr[data-patient="{w.frp}"] [data-reason="survey_due"]')).to_be_visible()
    expect(page.locator('[data-need="survey_due"] strong')).to_have_text("2")
    expect(page.locator('[data-need="test_overdue"] strong')).to_have_text("1")
    assert_axe_clean(page)
    shot(page, "prescriber-needs-action-due")
    narrow = open_page(NARROW)
    _sign_in_with_the_keyboard(narrow, w.tokens[w.doc])
    assert_fits(narrow)
    assert_axe_clean(narrow)
