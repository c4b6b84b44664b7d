"""Whole journeys through the API, as a prescriber, a patient and a pharmacy would make them."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from rems.domain.model import Dispense, Prescription
from tests.api.conftest import Clock
from tests.api.world import ADMIN, World
from tests.web import survey_answers

D, P = "/v1/prescriber", "/v1/pharmacy"
COUNSELLED = {"counselled": True, "education_checklist_completed": True, "medication_guide_given": True}


def codes(items: list[dict[str, object]]) -> set[object]:
    return {i["code"] for i in items}


def test_an_frp_patient_goes_from_enrollment_to_one_dispense(client: TestClient, w: World,
                                                             clock: Clock) -> None:
    doc, pharm = w.auth(w.doc), w.auth(w.pharm)
    enrolled = client.post(f"{D}/patients", headers=doc, json={
        "name": "Ada", "sex": "female", "birth_date": "1988-04-12", "ppaf": {"category": "adult_frp"},
        "facts": {"menarche": True, "hysterectomy": False, "bilateral_oophorectomy": False,
                  "postmenopausal_since": None}})
    assert enrolled.status_code == 201
    patient = enrolled.json()["id"]
    refused = client.post(f"{D}/prescriptions", headers=doc, json={
        "patient_id": patient, "days_supply": 28, "quantity": 21})
    assert refused.status_code == 201 and not refused.json()["authorized"]
    assert {"R9_EARLY_TEST_MISSING", "R9_RECENT_TEST_MISSING", "R15_CONTRACEPTION_NOT_ATTESTED",
            "R19_PRESCRIBER_SURVEY_MISSING", "R20_PATIENT_SURVEY_DUE"} <= codes(
        refused.json()["decision"]["failures"])
    second = client.post(f"{D}/prescriptions", headers=doc, json={
        "patient_id": patient, "days_supply": 28, "quantity": 21})
    assert second.status_code == 409  # R36: the first one is still open; it says what to do
    assert codes(second.json()["failures"]) == {"R36_OPEN_AUTHORIZATION"}
    assert "void" in second.json()["failures"][0]["remedy"]
    voided = client.post(f"{D}/prescriptions/{refused.json()['id']}/void", headers=doc)
    assert voided.status_code == 200
    for ago in (timedelta(days=12), timedelta(hours=3)):
        test = {"collected_at": (clock.now - ago).isoformat(), "result": "negative",
                "sensitivity_miu_per_ml": 50}
        recorded = client.post(f"{D}/patients/{patient}/pregnancy-tests", headers=doc, json=test)
        assert recorded.status_code == 201
    w.token("patient", patient)
    survey = {"answers": survey_answers.API["pomalidomide"]}  # R20: the program's questions (issue 16.3)
    assert client.post("/v1/patient/survey", headers=w.auth(patient), json=survey).status_code == 201
    rx = client.post(f"{D}/prescriptions", headers=doc, json={
        "patient_id": patient, "days_supply": 28, "quantity": 21,
        "contraception_counselling_attested": True}).json()
    assert codes(rx["decision"]["failures"]) == {"R19_PRESCRIBER_SURVEY_MISSING"}
    authorized = client.post(f"{D}/prescriptions/{rx['id']}/survey", headers=doc).json()
    assert authorized["authorized"] and authorized["category"] == "adult_frp"
    number = authorized["number"]
    check = client.get(f"{P}/authorizations/{number}/check", headers=pharm,
                       params={"patient_id": patient}).json()
    assert check["allowed"] and check["failures"] == []
    assert {r["rule"] for r in check["requirements"]} >= {"R1", "R25", "R9", "R19", "R20", "R23", "R24"}
    confirmation = client.post(f"{P}/authorizations/{number}/confirmations", headers=pharm,
                               json={"patient_id": patient}).json()["number"]
    no_checklist = client.post(f"{P}/dispenses", headers=pharm, json={
        **COUNSELLED, "confirmation_number": confirmation, "education_checklist_completed": False})
    assert no_checklist.status_code == 409
    assert codes(no_checklist.json()["failures"]) == {"R29_COUNSELLING_INCOMPLETE"}
    dispensed = client.post(f"{P}/dispenses", headers=pharm,
                            json={**COUNSELLED, "confirmation_number": confirmation})
    assert dispensed.status_code == 201
    again = client.post(f"{P}/dispenses", headers=pharm,
                        json={**COUNSELLED, "confirmation_number": confirmation})
    assert again.status_code == 409
    assert "R33_ALREADY_DISPENSED" in codes(again.json()["failures"])
    assert w.count(Dispense) == 1
    status = client.get(f"{D}/patients/{patient}", headers=doc).json()
    assert status["state"] == "active" and status["test_phase"] == "weekly"
    assert [d["rule"] for d in status["due_next"]][:1] == ["R11"]


def test_a_suspended_pharmacy_sees_why_and_is_refused_a_confirmation(client: TestClient, w: World) -> None:
    admin, pharm = w.auth(ADMIN), w.auth(w.pharm)
    suspended = client.post(f"/v1/admin/pharmacies/{w.pharm}/suspend", headers=admin,
                            json={"program_id": "pomalidomide"})
    assert suspended.json()["state"] == "suspended" and suspended.json()["program_id"] == "pomalidomide"
    check = client.get(f"{P}/authorizations/{w.number}/check", headers=pharm).json()
    assert not check["allowed"] and codes(check["failures"]) == {"R25_PHARMACY_SUSPENDED"}
    refused = client.post(f"{P}/authorizations/{w.number}/confirmations", headers=pharm)
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["type"] == "urn:rems:problem:refused"
    assert [(f["rule"], f["code"]) for f in problem["failures"]] == [("R25", "R25_PHARMACY_SUSPENDED")]


def test_voiding_a_confirmation_lets_another_pharmacy_confirm(client: TestClient, w: World) -> None:
    first = client.post(f"{P}/authorizations/{w.number}/confirmations", headers=w.auth(w.pharm)).json()
    voided = client.post(f"{P}/confirmations/{first['number']}/void", headers=w.auth(w.pharm))
    assert voided.json()["state"] == "voided"
    assert w.state_of(Prescription, w.rx) == "authorized"
    again = client.post(f"{P}/confirmations/{first['number']}/void", headers=w.auth(w.pharm))
    assert again.status_code == 409
    assert client.post(f"{P}/authorizations/{w.number}/confirmations",
                       headers=w.auth(w.other_pharm)).status_code == 201
    trail = client.get(f"/v1/admin/audit/prescription/{w.rx}", headers=w.auth(ADMIN)).json()
    assert [a["trigger"] for a in trail] == ["request", "authorize", "confirm", "release", "confirm"]
    assert trail[3]["actor"] == f"pharmacy:{w.pharm}" and trail[3]["request_id"].startswith("api-")


def test_a_pregnancy_report_stops_therapy_and_voids_authorizations(client: TestClient, w: World) -> None:
    reported = client.post(f"{D}/patients/{w.male}/pregnancy-report", headers=w.auth(w.doc),
                           json={"source": "partner"})
    assert reported.status_code == 201 and reported.json()["state"] == "pregnancy_stop"
    assert w.state_of(Prescription, w.rx) == "voided"


def test_the_admin_reads_the_refused_accesses_of_an_actor(client: TestClient, w: World) -> None:
    client.get(f"{D}/patients/{w.stranger}", headers=w.auth(w.doc))
    client.get("/v1/admin/audit/api/x", headers=w.auth(w.doc))
    trail = client.get(f"/v1/admin/audit/api/{w.doc}", headers=w.auth(ADMIN)).json()
    assert [(a["trigger"], a["reasons"][0]["code"]) for a in trail] == [
        ("access_refused", "AUTH_NOT_FOUND_OR_NOT_YOURS"), ("access_refused", "AUTH_ROLE_FORBIDDEN")]
    assert w.stranger in trail[0]["reasons"][0]["message"]


def test_errors_are_problem_details_and_never_a_stack_trace(client: TestClient, w: World) -> None:
    malformed = client.post(f"{D}/patients", headers={**w.auth(w.doc), "Content-Type": "application/json"},
                            content=b"{not json")
    assert malformed.status_code == 422 and malformed.json()["field"] == "body"
    unknown = client.get("/v1/nowhere", headers=w.auth(w.doc))
    assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"
    future = client.post(f"{D}/patients/{w.frp}/pregnancy-tests", headers=w.auth(w.doc), json={
        "collected_at": "2099-01-01T00:00:00Z", "result": "negative", "sensitivity_miu_per_ml": 50})
    assert future.status_code == 422 and future.json()["field"] == "collected_at"
    naive = client.post(f"{D}/patients/{w.frp}/pregnancy-tests", headers=w.auth(w.doc), json={
        "collected_at": "2026-03-01T00:00:00", "result": "negative", "sensitivity_miu_per_ml": 50})
    assert naive.status_code == 422 and naive.json()["field"] == "collected_at"
    guardian = client.post(f"{D}/patients", headers=w.auth(w.doc), json={
        "name": "Kid", "sex": "male", "birth_date": "2016-01-01",
        "ppaf": {"category": "child_male", "signed_by": "guardian"}})
    assert guardian.status_code == 422 and guardian.json()["field"] == "ppaf.guardian_name"
