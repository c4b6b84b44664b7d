"""Issue 17: programs of other designs run from their files alone, beside the IMiD programs.

iPLEDGE (PROGRAMS.md) and the information-only mycophenolate REMS, end to end through the API.
The expected answers come from PROGRAMS.md and the program files' numbers: two negative tests
before the first prescription, the confirmation test opening a 7-day window (collection day 1),
at most a 30-day supply, comprehension questions for a patient who can get pregnant, the RMA;
home tests only from the 2026 version on. Every requirement is named by the program's rule ids."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from rems.domain.errors import Refused
from rems.domain.model import Dispense, PregnancyReport
from rems.services.enrollment import certification
from tests.api.conftest import Clock
from tests.api.world import World
from tests.web import survey_answers

D, P = "/v1/prescriber", "/v1/pharmacy"
NEW_YORK = ZoneInfo("America/New_York")  # the program files' zone (T1: the patients' default)
_names = itertools.count(1)
FACTS = {"menarche": True, "hysterectomy": False, "bilateral_oophorectomy": False, "postmenopausal_since": None}


def codes(items: list[dict[str, Any]]) -> set[str]:
    return {i["code"] for i in items}


def enroll(client: TestClient, doc: dict[str, str], program: str, sex: str = "female") -> str:
    body: dict[str, Any] = {"program_id": program, "name": f"Noor {next(_names)}", "sex": sex, "birth_date": "1999-05-01",
                            "ppaf": {"category": "adult_frp" if sex == "female" else "adult_male"}}
    if sex == "female":
        body["facts"] = FACTS
    enrolled = client.post(f"{D}/patients", headers=doc, json=body)
    assert enrolled.status_code == 201, enrolled.text
    return str(enrolled.json()["id"])


def record_test(client: TestClient, doc: dict[str, str], patient: str, at: Any, **extra: Any) -> None:
    recorded = client.post(f"{D}/patients/{patient}/pregnancy-tests", headers=doc, json={
        "collected_at": at.isoformat(), "result": "negative", "sensitivity_miu_per_ml": 25, **extra})
    assert recorded.status_code == 201, recorded.text


def prescribe(client: TestClient, doc: dict[str, str], patient: str, days: int = 30, **extra: Any) -> Any:
    rx = client.post(f"{D}/prescriptions", headers=doc, json={
        "patient_id": patient, "days_supply": days, "quantity": days * 2,
        "contraception_counselling_attested": True, **extra})
    assert rx.status_code in (201, 409), rx.text
    return rx.json()


def test_ipledge_a_patient_who_can_get_pregnant_from_registration_to_a_dispense(
        client: TestClient, w: World, clock: Clock) -> None:
    doc_id, pharm_id = w.prescriber(program="ipledge"), w.pharmacy(program="ipledge")
    doc, pharm = w.auth(doc_id), w.auth(pharm_id)
    patient = enroll(client, doc, "ipledge")
    first = prescribe(client, doc, patient)
    assert not first["authorized"]
    # two negative tests are missing, and the monthly comprehension questions; all named IP*
    failures = first["decision"]["failures"]
    assert {(f["rule"], f["code"]) for f in failures} >= {
        ("IP5", "R9_EARLY_TEST_MISSING"), ("IP5", "R9_RECENT_TEST_MISSING"), ("IP6", "R20_PATIENT_SURVEY_DUE")}
    assert all(f["rule"].startswith("IP") for f in first["decision"]["requirements"])
    assert "R19_PRESCRIBER_SURVEY_MISSING" not in codes(failures)  # iPLEDGE has no prescriber survey
    assert client.post(f"{D}/prescriptions/{first['id']}/void", headers=doc).status_code == 200
    # the screening test in the office 25 days ago; the confirmation test 8 days ago is outside
    # the 7-day window (its collection day was day 1)
    record_test(client, doc, patient, clock.now - timedelta(days=25), setting="office")
    record_test(client, doc, patient, clock.now - timedelta(days=8))
    w.token("patient", patient)
    survey = {"answers": survey_answers.API["ipledge"]}  # IP6: the comprehension questions (issue 16.3)
    assert client.post("/v1/patient/survey", headers=w.auth(patient), json=survey).status_code == 201
    late = prescribe(client, doc, patient)
    assert codes(late["decision"]["failures"]) == {"R9_RECENT_TEST_MISSING"}
    assert client.post(f"{D}/prescriptions/{late['id']}/void", headers=doc).status_code == 200
    record_test(client, doc, patient, clock.now - timedelta(days=2))
    too_long = prescribe(client, doc, patient, days=31)
    assert {(f["rule"], f["code"]) for f in too_long["decision"]["failures"]} == {("IP8", "R24_SUPPLY_TOO_LONG")}
    assert client.post(f"{D}/prescriptions/{too_long['id']}/void", headers=doc).status_code == 200
    rx = prescribe(client, doc, patient, days=30)
    assert rx["authorized"], rx["decision"]["failures"]
    # R23 / IP5: valid to the end of day 7 counted from the confirmation test's collection date
    collected = (clock.now - timedelta(days=2)).astimezone(NEW_YORK).date()
    expires = datetime.fromisoformat(rx["expires_at"]).astimezone(NEW_YORK)
    assert expires.date() == collected + timedelta(days=6) and (expires + timedelta(seconds=1)).hour == 0
    number = rx["number"]
    assert number.startswith("IPL")
    check = client.get(f"{P}/authorizations/{number}/check", headers=pharm, params={"patient_id": patient})
    assert check.json()["allowed"], check.json()["failures"]
    assert {r["fda_code"] for r in check.json()["requirements"]} >= {"C128504", "C128509", "C128523"}
    rma = client.post(f"{P}/authorizations/{number}/confirmations", headers=pharm,
                      json={"patient_id": patient})
    assert rma.status_code == 201, rma.text
    # IP11: the Medication Guide is the whole checklist; counselling items are not asked
    no_guide = client.post(f"{P}/dispenses", headers=pharm, json={
        "confirmation_number": rma.json()["number"], "counselled": True,
        "education_checklist_completed": True, "medication_guide_given": False})
    assert no_guide.status_code == 409 and codes(no_guide.json()["failures"]) == {"R29_COUNSELLING_INCOMPLETE"}
    dispensed = client.post(f"{P}/dispenses", headers=pharm, json={
        "confirmation_number": rma.json()["number"], "counselled": False,
        "education_checklist_completed": False, "medication_guide_given": True})
    assert dispensed.status_code == 201, dispensed.text
    assert w.count(Dispense) == 1


def test_ipledge_a_patient_who_cannot_get_pregnant_needs_no_test_and_no_questions(
        client: TestClient, w: World) -> None:
    doc_id = w.prescriber(program="ipledge")
    doc = w.auth(doc_id)
    patient = enroll(client, doc, "ipledge", sex="male")
    rx = prescribe(client, doc, patient, contraception_counselling_attested=False)
    assert rx["authorized"], rx["decision"]["failures"]
    rules = {r["rule"] for r in rx["decision"]["requirements"]}
    assert not rules & {"IP5", "IP6", "IP7"}  # FRP only
    assert rx["number"].startswith("IPL")


def test_ipledge_home_tests_count_only_from_the_2026_version(client: TestClient, w: World,
                                                             clock: Clock) -> None:
    doc_id = w.prescriber(program="ipledge")
    doc = w.auth(doc_id)
    home = {"setting": "home", "home_test_accepted": True}

    def ready_with_home_tests() -> Any:
        patient = enroll(client, doc, "ipledge")
        record_test(client, doc, patient, clock.now - timedelta(days=25), setting="office")
        record_test(client, doc, patient, clock.now - timedelta(days=1), **home)
        w.token("patient", patient)
        survey = {"answers": survey_answers.API["ipledge"]}  # IP6 (issue 16.3)
        assert client.post("/v1/patient/survey", headers=w.auth(patient), json=survey).status_code == 201
        return prescribe(client, doc, patient)

    before = ready_with_home_tests()  # 2 March 2026: the version before the modification
    assert "R10_TEST_NOT_ACCEPTABLE" in codes(before["decision"]["failures"])
    clock.advance(days=160)  # 9 August 2026: the modified version is in force
    w.token("prescriber", doc_id)
    doc.update(w.auth(doc_id))
    after = ready_with_home_tests()
    assert after["authorized"], after["decision"]["failures"]


def test_mycophenolate_information_only_always_allows_and_keeps_its_records(client: TestClient, w: World) -> None:
    doc_id, pharm_id = w.prescriber(program="mycophenolate"), w.pharmacy(program="mycophenolate")
    doc, pharm = w.auth(doc_id), w.auth(pharm_id)
    patient = enroll(client, doc, "mycophenolate")  # a female who can get pregnant, no test at all
    rx = prescribe(client, doc, patient, days=90, contraception_counselling_attested=False)
    assert rx["authorized"] and rx["decision"]["requirements"] == []
    number = rx["number"]
    check = client.get(f"{P}/authorizations/{number}/check", headers=pharm, params={"patient_id": patient})
    assert check.json()["allowed"] and check.json()["requirements"] == []
    confirmation = client.post(f"{P}/authorizations/{number}/confirmations", headers=pharm,
                               json={"patient_id": patient}).json()["number"]
    dispensed = client.post(f"{P}/dispenses", headers=pharm, json={
        "confirmation_number": confirmation, "counselled": False, "education_checklist_completed": False,
        "medication_guide_given": False})
    assert dispensed.status_code == 201, dispensed.text
    # the pregnancy registry still records a report
    reported = client.post(f"{D}/patients/{patient}/pregnancy-report", headers=doc, json={"source": "patient"})
    assert reported.status_code == 201, reported.text
    assert w.count(PregnancyReport) == 1


# -- The bosentan REMS: liver tests with ULN thresholds; the pregnancy tests retired in 2025 -------


def lab(client: TestClient, doc: dict[str, str], patient: str, analyte: str, value: str, at: datetime,
        uln: str = "40") -> None:
    recorded = client.post(f"{D}/patients/{patient}/lab-results", headers=doc, json={
        "analyte": analyte, "value": value, "unit": "U/L", "upper_limit_normal": uln,
        "collected_at": at.isoformat()})
    assert recorded.status_code == 201, recorded.text


def dispense(client: TestClient, pharm: dict[str, str], patient: str, number: str) -> None:
    confirmed = client.post(f"{P}/authorizations/{number}/confirmations", headers=pharm, json={"patient_id": patient})
    assert confirmed.status_code == 201, confirmed.text
    done = client.post(f"{P}/dispenses", headers=pharm, json={
        "confirmation_number": confirmed.json()["number"], "counselled": False,
        "education_checklist_completed": False, "medication_guide_given": True})
    assert done.status_code == 201, done.text


def test_bosentan_liver_tests_gate_each_prescription_at_their_uln_boundaries(
        client: TestClient, w: World, clock: Clock) -> None:
    doc_id, pharm_id = w.prescriber(program="bosentan"), w.pharmacy(program="bosentan")
    doc, pharm = w.auth(doc_id), w.auth(pharm_id)
    patient = enroll(client, doc, "bosentan")  # can get pregnant: no pregnancy test since 2025
    first = prescribe(client, doc, patient)
    assert {(f["rule"], f["code"]) for f in first["decision"]["failures"]} == {("BOS2", "LAB_INITIAL_MISSING")}
    assert len(first["decision"]["failures"]) == 2  # ALT and AST, each its own
    assert not {r["rule"] for r in first["decision"]["requirements"]} & {"BOS5", "BOS6"}  # retired
    assert client.post(f"{D}/prescriptions/{first['id']}/void", headers=doc).status_code == 200
    lab(client, doc, patient, "ALT", "35", clock.now - timedelta(days=2))
    half = prescribe(client, doc, patient)
    assert {f["code"] for f in half["decision"]["failures"]} == {"LAB_INITIAL_MISSING"}  # AST still missing
    assert client.post(f"{D}/prescriptions/{half['id']}/void", headers=doc).status_code == 200
    lab(client, doc, patient, "AST", "120", clock.now - timedelta(days=2))  # exactly 3 x ULN: acceptable
    rx = prescribe(client, doc, patient)
    assert rx["authorized"], rx["decision"]["failures"]
    dispense(client, pharm, patient, rx["number"])
    # the status page says when the liver tests are due: 30 days from the tests' local date
    due = {d["rule"]: d for d in client.get(f"{D}/patients/{patient}", headers=doc).json()["due_next"]}
    tested = (clock.now - timedelta(days=2)).astimezone(NEW_YORK).date()
    assert datetime.fromisoformat(due["BOS2"]["due"]).astimezone(NEW_YORK).date() == tested + timedelta(days=30)
    assert "R11" not in due and "BOS5" not in due  # no pregnancy test is due any more
    # a month later: the monthly liver tests are due again (30 days, patient's calendar)
    clock.advance(days=29)
    lab(client, doc, patient, "ALT", "121", clock.now - timedelta(hours=1))  # > 3 x ULN: monitoring every 14 days
    lab(client, doc, patient, "AST", "30", clock.now - timedelta(hours=1))
    w.token("prescriber", doc_id)
    doc = w.auth(doc_id)
    monthly = prescribe(client, doc, patient)
    assert monthly["authorized"], monthly["decision"]["failures"]
    hold = next(r for r in monthly["decision"]["requirements"] if r["failure_code"] == "LAB_HOLD")
    assert hold["met"] and hold["fda_code"] == "C128523"
    assert client.post(f"{D}/prescriptions/{monthly['id']}/void", headers=doc).status_code == 200
    lab(client, doc, patient, "ALT", "201", clock.now)  # above 5 x ULN (200): therapy stops
    stopped = prescribe(client, doc, patient)
    assert ("BOS2", "LAB_STOP") in {(f["rule"], f["code"]) for f in stopped["decision"]["failures"]}


def test_bosentan_an_authorization_issued_under_the_pregnancy_tests_keeps_working_after_they_retire(
        client: TestClient, w: World, clock: Clock) -> None:
    clock.now = datetime(2025, 9, 29, 14, 0, tzinfo=NEW_YORK)  # two days before the retirement
    doc_id, pharm_id = w.prescriber(program="bosentan"), w.pharmacy(program="bosentan")
    doc, pharm = w.auth(doc_id), w.auth(pharm_id)
    patient = enroll(client, doc, "bosentan")
    for ago in (timedelta(days=12), timedelta(hours=2)):
        record_test(client, doc, patient, clock.now - ago)
    lab(client, doc, patient, "ALT", "20", clock.now - timedelta(days=1))
    lab(client, doc, patient, "AST", "20", clock.now - timedelta(days=1))
    rx = prescribe(client, doc, patient)
    assert rx["authorized"], rx["decision"]["failures"]
    assert "BOS5" in {r["rule"] for r in rx["decision"]["requirements"]}  # still in force today
    clock.advance(days=3)  # 2 October 2025: the pregnancy-test requirements are retired
    check = client.get(f"{P}/authorizations/{rx['number']}/check", headers=pharm, params={"patient_id": patient})
    assert check.json()["allowed"], check.json()["failures"]
    assert not {r["rule"] for r in check.json()["requirements"]} & {"BOS5", "BOS6"}
    dispense(client, pharm, patient, rx["number"])
    newcomer = enroll(client, doc, "bosentan")  # after the date: liver tests only
    lab(client, doc, newcomer, "ALT", "20", clock.now - timedelta(days=1))
    lab(client, doc, newcomer, "AST", "20", clock.now - timedelta(days=1))
    assert prescribe(client, doc, newcomer)["authorized"]


# -- The clozapine REMS: ANC advisory, enforcement discretion, then eliminated (read-only) ---------


def test_clozapine_advisory_anc_then_discretion_then_eliminated_read_only(
        client: TestClient, w: World, clock: Clock) -> None:
    clock.now = datetime(2025, 1, 13, 15, 0, tzinfo=NEW_YORK)  # the REMS is active
    doc_id, pharm_id = w.prescriber(program="clozapine"), w.pharmacy(program="clozapine")
    doc, pharm = w.auth(doc_id), w.auth(pharm_id)
    patient = enroll(client, doc, "clozapine", sex="male")
    rx = prescribe(client, doc, patient, days=7, contraception_counselling_attested=False)
    # no ANC on record: monitoring reports it, never refuses (advisory)
    assert rx["authorized"], rx["decision"]["failures"]
    anc = next(r for r in rx["decision"]["requirements"] if r["rule"] == "CLZ1")
    assert anc["met"] and anc["message"].startswith("advisory: not met, not enforced")
    dispense(client, pharm, patient, rx["number"])
    clock.advance(days=50)  # 4 March 2025: enforcement discretion, closed to new persons
    w.token("prescriber", doc_id)
    doc = w.auth(doc_id)
    refused = client.post(f"{D}/patients", headers=doc, json={
        "program_id": "clozapine", "name": "New Person", "sex": "male", "birth_date": "1990-01-01",
        "ppaf": {"category": "adult_male"}})
    assert refused.status_code == 409 and "LIFECYCLE_CLOSED_TO_NEW_ENROLLMENT" in refused.text
    clock.advance(days=110)  # 22 June 2025: eliminated
    w.token("prescriber", doc_id)
    doc = w.auth(doc_id)
    write = client.post(f"{D}/prescriptions", headers=doc, json={
        "patient_id": patient, "days_supply": 7, "quantity": 7})
    assert write.status_code == 409 and "LIFECYCLE_PROGRAM_ELIMINATED" in write.text
    anc = client.post(f"{D}/patients/{patient}/lab-results", headers=doc, json={
        "analyte": "ANC", "value": "2000", "unit": "cells/uL", "collected_at": clock.now.isoformat()})
    assert anc.status_code == 409 and "LIFECYCLE_PROGRAM_ELIMINATED" in anc.text
    with pytest.raises(Refused):  # nobody is certified in an eliminated program any more
        w.call(certification.change_certification, "pharmacy", w.pharmacy(program="pomalidomide"), "certify",
               "clozapine")
    status = client.get(f"{D}/patients/{patient}", headers=doc)  # the history stays readable
    assert status.status_code == 200 and status.json()["patient_id"] == patient
    assert w.count(Dispense) == 1
