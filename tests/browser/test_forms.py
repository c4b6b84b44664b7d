"""Issue 16 item 3 in Chromium: the forms drawn from the program's Questionnaires (the PPAF, the
prescriber survey, the patient survey), with their errors shown, are axe-clean (no serious or
critical WCAG 2 A/AA finding) and labelled question by question. Oracles: R5 (a PPAF's agreements
given or nobody enrolled), R19 and R20 (a wrong knowledge answer fails the survey)."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.a11y import assert_accessible
from tests.browser.axe import assert_axe_clean
from tests.browser.conftest import Server
from tests.browser.test_dashboard import _sign_in_with_the_keyboard
from tests.web import survey_answers

OpenPage = Callable[..., Page]


def test_the_questionnaire_forms_and_their_errors_are_accessible(server: Server, open_page: OpenPage) -> None:
    w = server.world()
    doc = open_page()
    _sign_in_with_the_keyboard(doc, w.tokens[w.doc])
    doc.get_by_role("link", name="The programs' own PPAF forms, one per risk category").click()
    doc.get_by_role("link", name="Pomalyst (pomalidomide) REMS Patient-Physician Agreement Form: adult male").click()
    assert_axe_clean(doc)
    doc.get_by_label("Patient's full name").fill("Milo Browser")
    doc.get_by_label("Date of birth").fill("1975-06-07")
    doc.get_by_role("button", name="Enroll with this PPAF").click()  # the agreements left unanswered
    expect(doc.locator("#f-answers-agree-risks-error")).to_have_text("required")
    expect(doc.locator("#f-answers-agree-risks")).to_have_attribute("aria-describedby", "f-answers-agree-risks-error")
    assert_axe_clean(doc)
    assert_accessible(doc)

    rx, _ = w.authorization(w.patient(w.doc, "adult_male"), w.doc, survey=False)
    doc.goto(f"/web/prescriber/prescriptions/{rx}/survey")
    doc.locator('select[name="answers.counselled"]').select_option("false")  # R19: a wrong answer
    doc.locator('select[name="answers.supply-limit"]').select_option("true")
    doc.get_by_role("button", name="Submit the survey (R19)").click()
    expect(doc.locator("#f-answers-counselled-error")).to_contain_text("review this question")
    expect(doc.get_by_role("group", name="Pomalyst (pomalidomide) REMS prescriber survey (R19)")).to_be_visible()
    assert_axe_clean(doc)

    patient = open_page()
    _sign_in_with_the_keyboard(patient, w.tokens[w.frp])
    for link_id, answer in {**survey_answers.POMALIDOMIDE, "share": "true"}.items():  # R20: one wrong
        patient.locator(f'select[name="answers.{link_id}"]').select_option(answer)
    patient.get_by_role("button", name="Submit my answers").click()
    expect(patient.locator("#f-answers-share-error")).to_contain_text("review this question")
    assert_axe_clean(patient)
    assert_accessible(patient)
