"""Issue 16 item 3: the dashboard's prescriber survey and PPAF are the program's Questionnaires,
answered through the services FHIR `$submit` uses (SQLite and PostgreSQL).

Oracles from the rules text: R19 (the prescriber survey before each prescription, only then an
authorization number), R5 (a PPAF for exactly one risk category; its agreements given, or nobody is
enrolled), R5 scoping (another prescriber's prescription is not found), and the pomalidomide
questionnaire file's items (what each form asks).
"""

from __future__ import annotations

import dataclasses
import re

from fastapi.testclient import TestClient

from rems.adapters import orm
from rems.domain.model import FormResponse, Patient, PrescriberSurvey, Prescription
from tests.api.world import PROGRAM, World
from tests.web.conftest import Browser, signed_in

R19 = "R19_PRESCRIBER_SURVEY_MISSING"
RIGHT_R19 = {"answers.counselled": "true", "answers.supply-limit": "true"}  # R19: counselled, within R24
MALE_PPAF = "pomalidomide-ppaf-adult-male"
MALE = {"answers.name": "Marco Form", "answers.sex": "male", "answers.birth-date": "1980-02-03",
        "answers.agree-risks": "true", "answers.agree-condoms": "true"}


def pending(w: World) -> str:
    """A prescription of doc's new adult male patient waiting only for the prescriber survey (R19)."""
    rx, number = w.authorization(w.patient(w.doc, "adult_male"), w.doc, survey=False)
    assert number == ""
    return rx


def surveyed(w: World, rx: str) -> int:
    return w.count(PrescriberSurvey, orm.prescriber_surveys.c.prescription_id == rx)


def test_the_survey_page_asks_the_programs_questions_for_that_prescription(browser: Browser, w: World) -> None:
    rx = pending(w)
    page = signed_in(browser, w, w.doc).get(f"/web/prescriber/prescriptions/{rx}/survey")
    assert page.status_code == 200
    assert 'name="answers.counselled"' in page.text and 'name="answers.supply-limit"' in page.text
    assert 'name="answers.prescription"' not in page.text  # the page's prescription, not a typed one
    assert f'data-testid="survey-prescription">{rx}<' in page.text
    assert "<fieldset>" in page.text and "<legend>Pomalyst (pomalidomide) REMS prescriber survey (R19)" in page.text


def test_the_right_answers_issue_the_authorization(browser: Browser, w: World) -> None:
    rx = pending(w)
    signed_in(browser, w, w.doc)
    url = f"/web/prescriber/prescriptions/{rx}/survey"
    done = browser.submit(url, RIGHT_R19, url)
    assert done.status_code == 303, done.text
    assert re.search(r'data-testid="authorization-number">POM-\d{10}<', browser.get(done.headers["location"]).text)
    assert surveyed(w, rx) == 1
    assert w.count(FormResponse, orm.form_responses.c.subject_id == rx, orm.form_responses.c.passed.is_(True)) == 1


def test_a_wrong_answer_fails_the_survey_and_no_number_issues(browser: Browser, w: World) -> None:
    rx = pending(w)
    signed_in(browser, w, w.doc)
    url = f"/web/prescriber/prescriptions/{rx}/survey"
    r = browser.submit(url, {**RIGHT_R19, "answers.counselled": "false"}, url)
    assert r.status_code == 422
    assert 'id="f-answers-counselled-error">review this question' in r.text and "R19" in r.text
    assert 'aria-invalid="true" aria-describedby="f-answers-counselled-error"' in r.text
    assert surveyed(w, rx) == 0
    with w.app.uow() as uow:
        assert uow.get(Prescription, rx).number is None  # R19: no number without a passed survey
    assert w.count(FormResponse, orm.form_responses.c.subject_id == rx, orm.form_responses.c.passed.is_(False)) == 1


def test_an_unanswered_question_is_named_and_nothing_is_written(browser: Browser, w: World) -> None:
    rx = pending(w)
    signed_in(browser, w, w.doc)
    url = f"/web/prescriber/prescriptions/{rx}/survey"
    r = browser.submit(url, {"answers.counselled": "true"}, url)
    assert r.status_code == 422 and 'id="f-answers-supply-limit-error">required' in r.text
    assert surveyed(w, rx) == 0 and w.count(FormResponse) == 0


def test_another_prescribers_prescription_is_not_found(browser: Browser, w: World) -> None:
    rx, _ = w.authorization(w.patient(w.other_doc, "adult_male"), w.other_doc, survey=False)
    signed_in(browser, w, w.doc)
    assert browser.get(f"/web/prescriber/prescriptions/{rx}/survey").status_code == 404
    r = browser.submit(f"/web/prescriber/prescriptions/{rx}/survey", RIGHT_R19, "/web/prescriber")
    assert r.status_code == 404 and surveyed(w, rx) == 0
    assert "AUTH_NOT_FOUND_OR_NOT_YOURS" in w.refusals(w.doc)


def test_the_ppaf_list_offers_one_form_per_risk_category(browser: Browser, w: World) -> None:
    page = signed_in(browser, w, w.doc).get("/web/prescriber/ppaf")
    assert page.status_code == 200
    for category in ("adult-frp", "child-frp", "adult-fnrp", "child-fnrp", "adult-male", "child-male"):
        assert f'href="/web/prescriber/ppaf/pomalidomide-ppaf-{category}"' in page.text  # R5a: six categories


def test_the_ppaf_form_enrolls_for_its_category(browser: Browser, w: World) -> None:
    signed_in(browser, w, w.doc)
    url = f"/web/prescriber/ppaf/{MALE_PPAF}"
    form = browser.get(url)
    assert form.status_code == 200 and 'name="answers.agree-condoms"' in form.text
    assert '<label for="f-answers-name">' in form.text  # every question labelled by its own text
    done = browser.submit(url, {**MALE, "identifier.system": "urn:mrn", "identifier.value": "M-1"}, url)
    assert done.status_code == 303, done.text
    patient_id = done.headers["location"].rsplit("/", 1)[1]
    with w.app.uow() as uow:
        patient = uow.get(Patient, patient_id)
        assert (patient.name, patient.sex, patient.prescriber_id) == ("Marco Form", "male", w.doc)
    assert w.count(FormResponse, orm.form_responses.c.subject_id == patient_id) == 1
    assert "adult male" in browser.get(done.headers["location"]).text  # R5: the PPAF's category


def test_a_refused_agreement_enrolls_nobody_and_is_shown_beside_it(browser: Browser, w: World) -> None:
    signed_in(browser, w, w.doc)
    url = f"/web/prescriber/ppaf/{MALE_PPAF}"
    before = w.count(Patient)
    r = browser.submit(url, {**MALE, "answers.agree-condoms": "false"}, url)
    assert r.status_code == 422 and 'id="f-answers-agree-condoms-error"' in r.text and "R5" in r.text
    r = browser.submit(url, {k: v for k, v in MALE.items() if k != "answers.name"}, url)
    assert r.status_code == 422 and 'id="f-answers-name-error">required' in r.text
    assert 'value="1980-02-03"' in r.text  # the typed answers are kept
    assert w.count(Patient) == before and w.count(FormResponse) == 0


def test_the_page_and_submit_enroll_alike(client: TestClient, browser: Browser, w: World) -> None:
    """The same PPAF answers through the dashboard and through FHIR `$submit`: the same record."""
    signed_in(browser, w, w.doc)
    url = f"/web/prescriber/ppaf/{MALE_PPAF}"
    web = browser.submit(url, {**MALE, "answers.name": "Web Twin"}, url)
    response = {"resourceType": "QuestionnaireResponse", "status": "completed",
                "questionnaire": f"http://testserver/fhir/r4/Questionnaire/{MALE_PPAF}",
                "item": [{"linkId": "name", "answer": [{"valueString": "Fhir Twin"}]},
                         {"linkId": "sex", "answer": [{"valueString": "male"}]},
                         {"linkId": "birth-date", "answer": [{"valueDate": "1980-02-03"}]},
                         {"linkId": "agree-risks", "answer": [{"valueBoolean": True}]},
                         {"linkId": "agree-condoms", "answer": [{"valueBoolean": True}]}]}
    fhir = client.post("/fhir/r4/QuestionnaireResponse/$submit", headers=w.auth(w.doc), json=response)
    assert web.status_code == 303 and fhir.status_code == 200, fhir.text
    with w.app.uow() as uow:
        twins = [uow.get(Patient, web.headers["location"].rsplit("/", 1)[1]),
                 uow.get(Patient, fhir.json()["issue"][0]["details"]["coding"][0]["code"])]
        assert {(p.sex, p.birth_date.isoformat(), p.state, p.program_id) for p in twins} == {
            ("male", "1980-02-03", "active", "pomalidomide")}


def test_the_request_forms_survey_box_is_not_the_survey(browser: Browser, w: World) -> None:
    """R19 where the program asks its survey's questions: ticking a box on the request form does
    not stand for them (the dashboard grades as `$submit` does)."""
    signed_in(browser, w, w.doc)
    page_url = f"/web/prescriber/patients/{w.patient(w.doc, 'adult_male')}"
    assert 'name="prescriber_survey_completed"' not in browser.get(page_url).text
    done = browser.submit(f"{page_url}/prescriptions", {"days_supply": "28", "quantity": "28",
                                                        "prescriber_survey_completed": "on"}, page_url)
    result = browser.get(done.headers["location"]).text
    assert R19 in result and 'data-testid="authorization-number">' not in result


def test_a_program_without_survey_questions_keeps_the_one_button_survey(browser: Browser, w: World) -> None:
    rx = pending(w)
    program = w.app.programs[PROGRAM]
    w.app.programs[PROGRAM] = dataclasses.replace(program, questionnaires=())
    try:
        signed_in(browser, w, w.doc)
        url = f"/web/prescriber/prescriptions/{rx}/survey"
        page = browser.get(url)
        assert "declares no prescriber survey questions" in page.text and "answers." not in page.text
        done = browser.submit(url, {}, url)
        assert done.status_code == 303 and surveyed(w, rx) == 1
    finally:
        w.app.programs[PROGRAM] = program
