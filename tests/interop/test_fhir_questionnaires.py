"""Issue 16 item 3: `$questionnaire-package` and `QuestionnaireResponse/$submit` (SQLite and PostgreSQL).

Oracles from the rules, not the code: R20 (an FRP needs a patient survey before a prescription; a
survey with a wrong knowledge answer does not count), R19 (the prescriber survey per prescription),
R5-R8 (the PPAF enrols), and the program's knowledge answers as written in its questionnaire file.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from sqlalchemy import select

from rems.adapters import orm
from rems.domain.model import FormResponse, Patient, PatientSurvey, PrescriberSurvey, Prescription
from rems.interop.codes import REMS_PATIENT
from rems.services.commands import EnrollPatient, RequestAuthorization, parse
from rems.services.dispensing import prescriptions
from rems.services.enrollment import patients
from tests.api.world import PROGRAM
from tests.interop.conftest import Population
from tests.interop.fhir_helpers import call, medication, patient, unmet
from tests.service.builders import NO_FACTS

SUBMIT = "/fhir/r4/QuestionnaireResponse/$submit"
SURVEY = "pomalidomide-patient-survey"
# The program's answers (workflows/programs/questionnaires/pomalidomide.toml), restating R20's survey facts.
RIGHT = {"share": False, "donate-blood": False, "return-unused": "Return them to the pharmacy or the program",
         "pregnancy-stop": "Stop taking it and call the prescriber at once"}
R20_DUE = "R20_PATIENT_SURVEY_DUE"


def answer(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, dict):
        return {"valueCoding": value}
    return {"valueString": value}


def response(questionnaire: str, answers: dict[str, Any], subject: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse", "status": "completed",
        "questionnaire": f"http://testserver/fhir/r4/Questionnaire/{questionnaire}",
        "item": [{"linkId": k, "answer": [answer(v)]} for k, v in answers.items()]}
    if subject is not None:
        body["subject"] = {"identifier": {"system": REMS_PATIENT, "value": subject}}
    return body


def outcome(r: Any) -> dict[str, Any]:
    assert r.headers["content-type"].startswith("application/fhir+json")
    body: dict[str, Any] = r.json()
    OperationOutcome.model_validate(body)
    issue: dict[str, Any] = body["issue"][0]
    return issue


def r20_unmet(client: TestClient, p: Population, patient_id: str) -> bool:
    status, body = call(client, p.auth(p.w.doc), patient(patient_id), medication())
    assert status == 200
    return R20_DUE in unmet(body)


@pytest.fixture
def tested_frp(p: Population) -> str:
    """An FRP with both R9 tests and no survey: R20 is the survey's requirement left."""
    frp = p.w.patient(p.w.doc, "adult_frp")
    p.negative_tests(frp)
    return frp


# -- $questionnaire-package -------------------------------------------------------------------
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_package_is_a_bundle_of_the_questionnaire_and_its_value_sets(
        client: TestClient, p: Population, method: str) -> None:
    r = client.request(method, f"/fhir/r4/Questionnaire/{SURVEY}/$questionnaire-package", headers=p.auth(p.w.frp))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    bundle = r.json()
    Bundle.model_validate(bundle)
    assert bundle["type"] == "collection"
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds[0] == "Questionnaire" and kinds.count("ValueSet") == 2  # two choice questions
    questionnaire = bundle["entry"][0]["resource"]
    link_ids = [i["linkId"] for i in questionnaire["item"]]
    assert set(RIGHT) <= set(link_ids)
    bound = {i["answerValueSet"] for i in questionnaire["item"] if i["type"] == "choice"}
    assert bound == {e["resource"]["url"] for e in bundle["entry"][1:]}  # every binding is in the package
    assert "correct" not in r.text  # the knowledge answers are never sent
    assert "placeholder" in questionnaire["description"]  # the wording is a marked placeholder


def test_every_form_of_the_four_programs_packages_and_validates(client: TestClient, p: Population) -> None:
    for program in ("pomalidomide", "lenalidomide", "thalidomide", "ipledge"):
        forms = p.w.app.programs[program].questionnaires
        assert {q.form for q in forms} >= {"patient_survey", "counselling"}
        for spec in forms:
            r = client.get(f"/fhir/r4/Questionnaire/{spec.id}/$questionnaire-package", headers=p.auth(p.w.doc))
            assert r.status_code == 200, (spec.id, r.text)
            Bundle.model_validate(r.json())


def test_the_package_needs_a_token_and_a_known_questionnaire(client: TestClient, p: Population) -> None:
    r = client.get(f"/fhir/r4/Questionnaire/{SURVEY}/$questionnaire-package")
    assert r.status_code == 401 and outcome(r)["code"] == "login"
    r = client.get("/fhir/r4/Questionnaire/nothing-here/$questionnaire-package", headers=p.auth(p.w.doc))
    assert r.status_code == 404 and outcome(r)["code"] == "not-found"


# -- $submit: the patient survey (R20) --------------------------------------------------------
def test_a_correct_survey_satisfies_r20(client: TestClient, p: Population, tested_frp: str) -> None:
    assert r20_unmet(client, p, tested_frp)
    r = client.post(SUBMIT, headers=p.auth(tested_frp), json=response(SURVEY, RIGHT, tested_frp))
    assert r.status_code == 200, r.text
    assert outcome(r)["severity"] == "information"
    assert p.w.count(PatientSurvey, orm.patient_surveys.c.patient_id == tested_frp) == 1
    assert not r20_unmet(client, p, tested_frp)
    p.w.authorization(tested_frp, p.w.doc)  # the gate issues the authorization now


def test_one_wrong_knowledge_answer_fails_the_survey_and_r20_still_refuses(
        client: TestClient, p: Population, tested_frp: str) -> None:
    r = client.post(SUBMIT, headers=p.auth(tested_frp), json=response(SURVEY, {**RIGHT, "share": True}))
    assert r.status_code == 422
    issue = outcome(r)
    assert issue["expression"] == ["QuestionnaireResponse.item.where(linkId='share')"]
    assert p.w.count(PatientSurvey, orm.patient_surveys.c.patient_id == tested_frp) == 0
    with p.w.app.uow() as uow:
        [failed] = uow.session.scalars(select(FormResponse).where(
            orm.form_responses.c.subject_id == tested_frp)).all()
        assert (failed.passed, failed.wrong, failed.questionnaire_id) == (False, ["share"], SURVEY)
        assert [a.trigger for a in uow.audit_trails.of("patient_survey", failed.id)] == ["fail"]
    assert r20_unmet(client, p, tested_frp)
    refused = p.w.call(prescriptions.request_authorization, parse(
        RequestAuthorization, patient_id=tested_frp, prescriber_id=p.w.doc, days_supply=28, quantity=28,
        contraception_counselling_attested=True, prescriber_survey_completed=True))
    assert refused.prescription.number is None  # the gate refuses the authorization, naming R20
    assert R20_DUE in {f.code for f in refused.decision.failures}


def test_a_choice_answered_by_code_is_graded_by_its_option(client: TestClient, p: Population,
                                                           tested_frp: str) -> None:
    coded = {**RIGHT, "return-unused": {"code": "2"}}  # option 2 is "Keep them for later": wrong
    r = client.post(SUBMIT, headers=p.auth(tested_frp), json=response(SURVEY, coded))
    assert r.status_code == 422 and "return-unused" in outcome(r)["diagnostics"]
    coded = {**RIGHT, "return-unused": {"code": "1"}}
    assert client.post(SUBMIT, headers=p.auth(tested_frp), json=response(SURVEY, coded)).status_code == 200


@pytest.mark.parametrize(("answers", "link_id", "reason"), [
    ({**RIGHT, "no-such-item": True}, "no-such-item", "no such item"),
    ({k: v for k, v in RIGHT.items() if k != "donate-blood"}, "donate-blood", "required"),
    ({**RIGHT, "share": "no"}, "share", "true or false"),
    ({**RIGHT, "pregnancy-stop": "Ask a friend"}, "pregnancy-stop", "one of the question's options"),
])
def test_bad_answers_are_an_operation_outcome_naming_the_link_id(
        client: TestClient, p: Population, tested_frp: str, answers: dict[str, Any], link_id: str,
        reason: str) -> None:
    r = client.post(SUBMIT, headers=p.auth(tested_frp), json=response(SURVEY, answers))
    assert r.status_code == 422
    issue = outcome(r)
    assert issue["expression"] == [f"QuestionnaireResponse.item.where(linkId='{link_id}')"]
    assert reason in issue["diagnostics"]
    assert p.w.count(PatientSurvey, orm.patient_surveys.c.patient_id == tested_frp) == 0
    assert p.w.count(FormResponse) == 0  # bad input writes nothing


@pytest.mark.parametrize("body", [{"resourceType": "Patient"}, {"resourceType": "QuestionnaireResponse"},
                                  {"resourceType": "QuestionnaireResponse", "status": "completed", "item": 3}])
def test_an_unreadable_response_is_a_400_operation_outcome(client: TestClient, p: Population,
                                                          body: dict[str, Any]) -> None:
    r = client.post(SUBMIT, headers=p.auth(p.w.frp), json=body)
    assert r.status_code == 400 and outcome(r)["code"] == "structure"


def test_an_unfinished_response_is_refused_naming_its_status(client: TestClient, p: Population) -> None:
    r = client.post(SUBMIT, headers=p.auth(p.w.frp), json={**response(SURVEY, RIGHT), "status": "in-progress"})
    assert r.status_code == 422 and outcome(r)["expression"] == ["QuestionnaireResponse.status"]


def test_a_patient_cannot_submit_for_another(client: TestClient, p: Population, tested_frp: str) -> None:
    r = client.post(SUBMIT, headers=p.auth(p.w.frp), json=response(SURVEY, RIGHT, tested_frp))
    assert r.status_code == 404 and outcome(r)["code"] == "not-found"
    assert p.w.count(PatientSurvey) == 1  # only the seeded p.ready's
    assert "AUTH_NOT_FOUND_OR_NOT_YOURS" in p.w.refusals(p.w.frp)  # audited like an unknown record


def test_a_patient_survey_needs_the_patients_own_token(client: TestClient, p: Population,
                                                       tested_frp: str) -> None:
    for actor in (p.w.doc, p.w.pharm):
        r = client.post(SUBMIT, headers=p.auth(actor), json=response(SURVEY, RIGHT, tested_frp))
        assert r.status_code == 403 and outcome(r)["code"] == "forbidden"
    assert client.post(SUBMIT, json=response(SURVEY, RIGHT)).status_code == 401


# -- $submit: prescriber survey (R19), enrollment (R5-R8), counselling (R27) --------------------
def test_the_prescriber_survey_records_r19_for_the_prescribers_own_prescription(
        client: TestClient, p: Population) -> None:
    male = p.w.patient(p.w.doc, "adult_male")
    rx, number = p.w.authorization(male, p.w.doc, survey=False)
    assert number == ""  # R19: no authorization without the survey
    form = {"prescription": rx, "counselled": True, "supply-limit": True}
    r = client.post(SUBMIT, headers=p.auth(p.w.other_doc), json=response("pomalidomide-prescriber-survey", form))
    assert r.status_code == 404, r.text  # another prescriber's prescription
    wrong = client.post(SUBMIT, headers=p.auth(p.w.doc),
                        json=response("pomalidomide-prescriber-survey", {**form, "counselled": False}))
    assert wrong.status_code == 422 and p.w.count(PrescriberSurvey, orm.prescriber_surveys.c.prescription_id == rx) == 0
    r = client.post(SUBMIT, headers=p.auth(p.w.doc), json=response("pomalidomide-prescriber-survey", form))
    assert r.status_code == 200, r.text
    assert p.w.count(PrescriberSurvey, orm.prescriber_surveys.c.prescription_id == rx) == 1
    with p.w.app.uow() as uow:
        assert uow.get(Prescription, rx).number  # R19 met: the authorization number is issued


def test_the_ppaf_enrols_a_patient_and_a_refused_agreement_enrols_nobody(client: TestClient, p: Population) -> None:
    ppaf = {"name": "Form Patient", "sex": "male", "birth-date": "1970-05-01", "agree-risks": True,
            "agree-condoms": True}
    before = p.w.count(Patient)
    r = client.post(SUBMIT, headers=p.auth(p.w.doc),
                    json=response("pomalidomide-ppaf-adult-male", {**ppaf, "agree-condoms": False}))
    assert r.status_code == 422 and "agree-condoms" in outcome(r)["expression"][0]
    assert p.w.count(Patient) == before
    r = client.post(SUBMIT, headers=p.auth(p.w.doc),
                    json=response("pomalidomide-ppaf-adult-male", {**ppaf, "birth-date": "2999-01-01"}))
    assert r.status_code == 422 and "birth-date" in outcome(r)["expression"][0]
    r = client.post(SUBMIT, headers=p.auth(p.w.doc), json=response("pomalidomide-ppaf-adult-male", ppaf))
    assert r.status_code == 200, r.text
    assert p.w.count(Patient) == before + 1
    with p.w.app.uow() as uow:
        [enrolled] = uow.session.scalars(select(Patient).where(orm.patients.c.name == "Form Patient")).all()
        assert enrolled.prescriber_id == p.w.doc and [f.category for f in uow.patients.ppafs(enrolled.id)] == ["adult_male"]


def test_the_counselling_checklist_is_refused_on_its_own(client: TestClient, p: Population) -> None:
    r = client.post(SUBMIT, headers=p.auth(p.w.pharm), json=response(
        "pomalidomide-counselling", {"counselled": True, "education-checklist": True, "medication-guide": True}))
    assert r.status_code == 422 and "dispense" in outcome(r)["diagnostics"]


# -- $submit by a guardian for a minor (R6) ----------------------------------------------------
def test_a_guardian_submits_a_childs_survey_and_the_child_alone_is_refused(client: TestClient,
                                                                         p: Population) -> None:
    """R6: a child is under 18, and a parent or guardian completes the survey for a child; R20:
    a female child who can get pregnant needs the survey before the prescription."""
    child = p.w.call(patients.enroll_patient, parse(
        EnrollPatient, program_id=PROGRAM, prescriber_id=p.w.doc, name="Minor Form",
        sex="female", birth_date=(p.clock() - timedelta(days=15 * 365)).date(),
        facts={**NO_FACTS, "menarche": True},
        ppaf={"category": "child_frp", "signed_by": "guardian", "guardian_name": "A Guardian"})).id
    p.w.token("patient", child)
    p.negative_tests(child)
    alone = client.post(SUBMIT, headers=p.auth(child), json=response(SURVEY, RIGHT, child))
    assert alone.status_code == 422
    issue = outcome(alone)
    assert issue["expression"] == ["QuestionnaireResponse.source"] and "R6" in issue["diagnostics"]
    assert p.w.count(PatientSurvey, orm.patient_surveys.c.patient_id == child) == 0
    assert p.w.count(FormResponse, orm.form_responses.c.subject_id == child) == 0  # nothing half-written
    assert r20_unmet(client, p, child)
    by_guardian = {**response(SURVEY, RIGHT, child), "source": {"reference": "RelatedPerson/guardian-1",
                                                                 "display": "A Guardian"}}
    r = client.post(SUBMIT, headers=p.auth(child), json=by_guardian)
    assert r.status_code == 200, r.text
    with p.w.app.uow() as uow:
        [survey] = uow.patients.surveys(child)
        assert survey.respondent == "guardian"
    assert not r20_unmet(client, p, child)
    wrong = client.post(SUBMIT, headers=p.auth(child), json={**by_guardian, "item": [
        {"linkId": k, "answer": [answer(True if k == "share" else v)]} for k, v in RIGHT.items()]})
    assert wrong.status_code == 422 and "share" in outcome(wrong)["diagnostics"]  # graded alike for a guardian
    assert p.w.count(PatientSurvey, orm.patient_surveys.c.patient_id == child) == 1


def test_the_package_carries_the_files_spanish_texts(client: TestClient, p: Population) -> None:
    """Issue 18 item 5 for the SMART app: FHIR's translation extension on each text, and each option's
    Spanish as a ValueSet designation (the answer stays the option's code)."""
    bundle = client.get(f"/fhir/r4/Questionnaire/{SURVEY}/$questionnaire-package", headers=p.auth(p.w.frp)).json()
    Bundle.model_validate(bundle)
    questionnaire = bundle["entry"][0]["resource"]

    def spanish(element: dict[str, Any]) -> str:
        [ext] = [e for e in element["extension"] if e["url"] == "http://hl7.org/fhir/StructureDefinition/translation"]
        parts = {x["url"]: x for x in ext["extension"]}
        assert parts["lang"]["valueCode"] == "es"
        return str(parts["content"]["valueString"])

    assert spanish(questionnaire["_title"]).startswith("Encuesta del paciente")
    share = next(i for i in questionnaire["item"] if i["linkId"] == "share")
    assert spanish(share["_text"]).startswith("¿Puede compartir Pomalyst (pomalidomida)")
    [options] = [e["resource"] for e in bundle["entry"][1:] if e["resource"]["id"].endswith("return-unused")]
    first = options["compose"]["include"][0]["concept"][0]
    assert (first["code"], first["designation"]) == ("1", [{"language": "es",
                                                             "value": "Devolverlas a la farmacia o al programa"}])
