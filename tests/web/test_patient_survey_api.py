"""Issue 16 item 3: `POST /v1/patient/survey` takes the answers to the program's patient survey
Questionnaire and grades them as FHIR `$submit` does (SQLite and PostgreSQL: the dashboard's
fixtures, as the page and the API are compared in test_patient_survey_form.py).

Oracles from the rules text, not the code: R20 (an FRP needs a patient survey before each
prescription; a survey with a wrong knowledge answer does not count, so the gate still names R20),
R18 (no blood donation during treatment: "may you donate blood?" is answered no), R6 (a parent or
guardian answers for a child), and the pomalidomide questionnaire file's items (what it asks).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rems.adapters import orm
from rems.domain.model import FormResponse, PatientSurvey
from rems.services.commands import EnrollPatient, RecordPregnancyTest, RequestAuthorization, parse
from rems.services.dispensing import prescriptions
from rems.services.enrollment import patients
from tests.api.world import PROGRAM, World
from tests.service.builders import NO_FACTS

SURVEY = "/v1/patient/survey"
# R20's survey facts as the pomalidomide file asks them: never share it, no blood donation (R18),
# return unused capsules, stop and call the prescriber if pregnancy is suspected.
RIGHT: dict[str, Any] = {"share": False, "donate-blood": False,
                         "return-unused": "Return them to the pharmacy or the program",
                         "pregnancy-stop": "Stop taking it and call the prescriber at once"}
R20_DUE = "R20_PATIENT_SURVEY_DUE"


def with_tests(w: World, patient_id: str) -> str:
    """R9: both negative tests, so R20 is what is left before the authorization."""
    for ago in (timedelta(days=12), timedelta(hours=1)):
        w.call(patients.record_pregnancy_test, parse(
            RecordPregnancyTest, patient_id=patient_id, collected_at=w.clock() - ago, result="negative",
            sensitivity_miu_per_ml=50))
    return patient_id


def surveys(w: World, patient_id: str) -> int:
    return w.count(PatientSurvey, orm.patient_surveys.c.patient_id == patient_id)


def failures(w: World, patient_id: str) -> set[str]:
    outcome = w.call(prescriptions.request_authorization, parse(
        RequestAuthorization, patient_id=patient_id, prescriber_id=w.doc, days_supply=28, quantity=28,
        contraception_counselling_attested=True, prescriber_survey_completed=True))
    return {f.code for f in outcome.decision.failures}


def test_the_right_answers_record_the_survey_and_r20_is_met(client: TestClient, w: World) -> None:
    frp = with_tests(w, w.frp)
    r = client.post(SURVEY, headers=w.auth(frp), json={"answers": RIGHT})
    assert r.status_code == 201, r.text
    assert r.json()["respondent"] == "patient"
    assert surveys(w, frp) == 1
    assert w.count(FormResponse, orm.form_responses.c.subject_id == frp, orm.form_responses.c.passed.is_(True)) == 1
    assert R20_DUE not in failures(w, frp)  # the gate issues the authorization now


def test_a_wrong_knowledge_answer_fails_the_survey_names_the_items_and_keeps_the_key(
        client: TestClient, w: World) -> None:
    frp = with_tests(w, w.frp)
    wrong = {**RIGHT, "donate-blood": True, "return-unused": "Keep them for later"}  # R18; keep: wrong
    r = client.post(SURVEY, headers=w.auth(frp), json={"answers": wrong})
    assert r.status_code == 422
    body = r.json()
    assert body["type"] == "urn:rems:problem:survey-failed"
    assert {e["field"] for e in body["errors"]} == {"answers.donate-blood", "answers.return-unused"}
    assert all("review this question" in e["message"] and "R20" in e["message"] for e in body["errors"])
    assert "Return them" not in r.text  # the right answer of the choice is never told
    assert surveys(w, frp) == 0
    assert w.count(FormResponse, orm.form_responses.c.subject_id == frp, orm.form_responses.c.passed.is_(False)) == 1
    assert R20_DUE in failures(w, frp)  # a failed survey does not count: the gate still refuses


@pytest.mark.parametrize(("answers", "fields", "reason"), [
    ({**RIGHT, "no-such-item": True}, {"answers.no-such-item"}, "no such item"),
    ({k: v for k, v in RIGHT.items() if k not in ("share", "donate-blood")},
     {"answers.share", "answers.donate-blood"}, "required"),
    ({**RIGHT, "share": "no"}, {"answers.share"}, "true or false"),
    ({**RIGHT, "pregnancy-stop": "Ask a friend"}, {"answers.pregnancy-stop"}, "one of the question's options"),
    ({**RIGHT, "missed-period": 3, "share": None}, {"answers.missed-period", "answers.share"}, ""),
])
def test_bad_answers_are_field_level_422s_and_write_nothing(
        client: TestClient, w: World, answers: dict[str, Any], fields: set[str], reason: str) -> None:
    r = client.post(SURVEY, headers=w.auth(w.frp), json={"answers": answers})
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    assert fields <= {e["field"] for e in errors}
    assert all(reason in e["message"] for e in errors if e["field"] in fields)
    assert surveys(w, w.frp) == 0 and w.count(FormResponse) == 0  # bad input writes nothing


def test_no_answers_where_the_program_asks_questions_is_refused(client: TestClient, w: World) -> None:
    for body in ({}, {"respondent": "patient"}, None):
        r = client.post(SURVEY, headers=w.auth(w.frp), json=body)
        assert r.status_code == 422 and r.json()["field"] == "answers", r.text
        assert "pomalidomide-patient-survey" in r.json()["detail"]  # where to find the questions
    assert surveys(w, w.frp) == 0


def test_a_guardian_answers_for_a_child_and_the_child_alone_is_refused(client: TestClient, w: World) -> None:
    """R6: child means under 18; a parent or guardian completes the survey for a child."""
    child = w.call(patients.enroll_patient, parse(
        EnrollPatient, program_id=PROGRAM, prescriber_id=w.doc, name="Child Survey", sex="female",
        birth_date=(w.clock() - timedelta(days=14 * 365)).date(), facts={**NO_FACTS, "menarche": True},
        ppaf={"category": "child_frp", "signed_by": "guardian", "guardian_name": "A Parent"})).id
    w.token("patient", child)
    r = client.post(SURVEY, headers=w.auth(child), json={"answers": RIGHT})
    assert r.status_code == 422 and r.json()["field"] == "respondent" and "R6" in r.json()["detail"]
    assert surveys(w, child) == 0 and w.count(FormResponse, orm.form_responses.c.subject_id == child) == 0
    r = client.post(SURVEY, headers=w.auth(child), json={"respondent": "guardian", "answers": RIGHT})
    assert r.status_code == 201 and r.json()["respondent"] == "guardian"
    assert surveys(w, child) == 1


def test_a_program_without_survey_questions_records_without_answers(client: TestClient, w: World) -> None:
    """The compatible path: where the program declares no patient survey questions there is nothing
    to answer (docs/standards.md, "Surveys without answers")."""
    program = w.app.programs[PROGRAM]
    w.app.programs[PROGRAM] = dataclasses.replace(program, questionnaires=())
    try:
        assert client.post(SURVEY, headers=w.auth(w.male), json={}).status_code == 201
        r = client.post(SURVEY, headers=w.auth(w.male), json={"answers": RIGHT})
        assert r.status_code == 422 and r.json()["field"] == "answers"
    finally:
        w.app.programs[PROGRAM] = program
    assert surveys(w, w.male) == 1
