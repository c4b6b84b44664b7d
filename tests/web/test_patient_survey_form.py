"""Issue 16 item 3: the patient's survey page shows the program's questions and records through the
same service as FHIR `$submit` (SQLite and PostgreSQL). Oracle: R20 (a survey counts only when
every knowledge question is answered as the program's questionnaire file says)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from rems.adapters import orm
from rems.domain.model import FormResponse, PatientSurvey
from tests.api.world import World
from tests.web import survey_answers
from tests.web.conftest import Browser, signed_in

RIGHT = survey_answers.FORM


def surveys(w: World, patient_id: str) -> int:
    return w.count(PatientSurvey, orm.patient_surveys.c.patient_id == patient_id)


def test_the_page_shows_the_programs_questions(browser: Browser, w: World) -> None:
    page = signed_in(browser, w, w.frp).get("/web/patient")
    assert page.status_code == 200
    for link_id in ("share", "donate-blood", "return-unused", "pregnancy-stop", "missed-period"):
        assert f'name="answers.{link_id}"' in page.text
    assert "May you share Pomalyst (pomalidomide) with another person?" in page.text
    assert "Return them to the pharmacy or the program" in page.text  # a choice's options
    assert "placeholder: a program administrator replaces this" in page.text  # marked as such


def test_right_answers_record_the_survey(browser: Browser, w: World) -> None:
    signed_in(browser, w, w.frp)
    r = browser.submit("/web/patient/survey", {"respondent": "patient", **RIGHT}, "/web/patient")
    assert r.status_code == 303, r.text
    assert surveys(w, w.frp) == 1
    assert "by the patient" in browser.get("/web/patient").text


def test_a_wrong_answer_fails_the_survey_beside_its_question(browser: Browser, w: World) -> None:
    signed_in(browser, w, w.frp)
    r = browser.submit("/web/patient/survey", {**RIGHT, "answers.donate-blood": "true"}, "/web/patient")
    assert r.status_code == 422
    assert 'id="f-answers-donate-blood-error"' in r.text and "recorded as failed" in r.text
    assert surveys(w, w.frp) == 0
    assert w.count(FormResponse, orm.form_responses.c.subject_id == w.frp,
                   orm.form_responses.c.passed.is_(False)) == 1


def test_an_unanswered_question_is_named_and_nothing_recorded(browser: Browser, w: World) -> None:
    signed_in(browser, w, w.frp)
    answers = {k: v for k, v in RIGHT.items() if k != "answers.share"}
    r = browser.submit("/web/patient/survey", answers, "/web/patient")
    assert r.status_code == 422 and 'id="f-answers-share-error"' in r.text
    assert surveys(w, w.frp) == 0 and w.count(FormResponse) == 0


def test_every_wrong_answer_is_marked_to_review_and_the_right_one_is_not_told(browser: Browser, w: World) -> None:
    signed_in(browser, w, w.frp)
    wrong = {**RIGHT, "answers.share": "true", "answers.pregnancy-stop": "Keep taking it until the next visit"}
    r = browser.submit("/web/patient/survey", wrong, "/web/patient")
    assert r.status_code == 422
    for link_id in ("share", "pregnancy-stop"):  # R20: each question to review, beside itself
        assert f'id="f-answers-{link_id}-error">review this question' in r.text
        assert f'aria-describedby="f-answers-{link_id}-error"' in r.text
    assert 'id="f-answers-donate-blood-error"' not in r.text  # a right answer is not marked
    assert surveys(w, w.frp) == 0


def test_the_api_and_the_page_grade_alike(client: TestClient, browser: Browser, w: World) -> None:
    """The same wrong answer fails on both (the same service): 422, nothing in patient_surveys."""
    api = client.post("/v1/patient/survey", headers=w.auth(w.frp), json={
        "answers": {**survey_answers.API["pomalidomide"], "donate-blood": True}})
    signed_in(browser, w, w.frp)
    web = browser.submit("/web/patient/survey", {**RIGHT, "answers.donate-blood": "true"}, "/web/patient")
    assert api.status_code == web.status_code == 422
    assert [e["field"] for e in api.json()["errors"]] == ["answers.donate-blood"]
    assert 'id="f-answers-donate-blood-error"' in web.text
    assert surveys(w, w.frp) == 0
    assert w.count(FormResponse, orm.form_responses.c.passed.is_(False)) == 2


def test_a_spanish_reader_gets_the_files_spanish_questions_and_is_graded_alike(browser: Browser, w: World) -> None:
    """Issue 18 item 5 for the forms: the questionnaire file's `es` texts; a choice answers its source option."""
    spanish = {"Accept-Language": "es"}
    page = signed_in(browser, w, w.frp).get("/web/patient", headers=spanish)
    assert "¿Puede compartir Pomalyst (pomalidomida) con otra persona?" in page.text
    assert '<option value="Return them to the pharmacy or the program" >Devolverlas a la farmacia o al programa' \
        in page.text
    assert "May you share Pomalyst" not in page.text
    r = browser.submit("/web/patient/survey", {"respondent": "patient", **RIGHT}, "/web/patient")
    assert r.status_code == 303, r.text
    assert surveys(w, w.frp) == 1
