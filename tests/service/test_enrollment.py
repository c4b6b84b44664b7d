"""Enrollment with a PPAF and category changes (R5, R5a, R6, R7, R8), and input validation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from rems.domain.errors import InvalidInput, Refused
from rems.domain.model import AuditEntry, Patient, Ppaf, Prescription
from rems.services.commands import EnrollPharmacy, EnrollPrescriber, RecordPregnancyTest, RenewPpaf, parse
from rems.services.dispensing import prescriptions
from rems.services.enrollment import patients
from tests.service.builders import NO_FACTS, Scenario, codes, years_before


def _nothing_written(s: Scenario) -> bool:
    return (s.count(Patient) == 0 and s.count(Ppaf) == 0
            and s.count(AuditEntry, AuditEntry.entity.in_(("patient", "pregnancy_testing"))) == 0)


@pytest.mark.parametrize(("facts_of", "signed"), [
    ("adult_frp", "adult_fnrp"),    # no hysterectomy, oophorectomy or 24 months of menopause (R7)
    ("adult_fnrp", "adult_frp"),
    ("child_fnrp", "child_frp"),    # no menarche yet
    ("adult_male", "adult_frp"),
    ("child_frp", "adult_frp"),     # under 18 (R6)
])
def test_ppaf_for_another_category_is_refused_and_leaves_no_half_written_record_r5(
        scenario: Scenario, facts_of: str, signed: str) -> None:
    command = scenario.enroll_command(facts_of, ppaf={"category": signed, "signed_by": "guardian",
                                                     "guardian_name": "A Parent"})
    with pytest.raises(Refused) as refused:
        scenario.call(patients.enroll_patient, command)
    assert codes(refused.value) == ["R5_PPAF_CATEGORY_MISMATCH"]
    assert _nothing_written(scenario)


@pytest.mark.parametrize("prescriber_state", ["enrolled", "suspended"])
def test_enrolling_under_an_uncertified_prescriber_is_refused_r5(
        scenario: Scenario, prescriber_state: str) -> None:
    scenario.prescriber_id = scenario.new_prescriber(certify=prescriber_state != "enrolled")
    if prescriber_state == "suspended":
        scenario.certify("prescriber", scenario.prescriber_id, "suspend")
    with pytest.raises(Refused) as refused:
        scenario.enrolled("adult_male")
    assert codes(refused.value) == ["R5_PRESCRIBER_NOT_CERTIFIED"]
    assert _nothing_written(scenario)


def test_a_child_enrolled_without_a_guardian_signature_is_refused_r6(scenario: Scenario) -> None:
    with pytest.raises(Refused) as refused:
        scenario.enrolled("child_fnrp", ppaf={"category": "child_fnrp", "signed_by": "patient"})
    assert codes(refused.value) == ["R6_GUARDIAN_SIGNATURE_MISSING"]
    assert _nothing_written(scenario)
    with pytest.raises(InvalidInput) as invalid:
        scenario.enrolled("child_fnrp", ppaf={"category": "child_fnrp", "signed_by": "guardian"})
    assert invalid.value.field == "ppaf.guardian_name"

    scenario.enrolled("child_fnrp")
    patient = scenario.fetch(Patient, scenario.patient_id)
    assert (patient.state, patient.test_phase) == ("active", "not_required")
    ppaf, = scenario.rows(Ppaf, Ppaf.patient_id == patient.id)
    assert (ppaf.category, ppaf.signed_by, ppaf.guardian_name) == ("child_fnrp", "guardian", "A Parent")


def _bad_npi(s: Scenario) -> Any:
    return parse(EnrollPrescriber, name="Dr X", npi="12345", attested=True, education_reviewed=True)


def _bad_ncpdp(s: Scenario) -> Any:
    return parse(EnrollPharmacy, name="Ph", ncpdp_id="12a4567", representative_enrolled=True,
                 staff_trained=True, records_and_audits_accepted=True)


def _future_birth_date(s: Scenario) -> Any:
    return s.call(patients.enroll_patient, s.enroll_command(
        "adult_male", birth_date=s.now.date() + timedelta(days=1)))


def _unknown_category(s: Scenario) -> Any:
    return s.enroll_command("adult_male", ppaf={"category": "adult_unknown"})


def _naive_collected_at(s: Scenario) -> Any:
    return parse(RecordPregnancyTest, patient_id=s.patient_id, result="negative",
                 collected_at=s.now.replace(tzinfo=None), sensitivity_miu_per_ml=50)


def _future_collected_at(s: Scenario) -> Any:
    return s.pregnancy_test(hours_ago=-1)


def _postmenopause_in_future(s: Scenario) -> Any:
    return s.call(patients.enroll_patient, s.enroll_command(
        "adult_frp", facts={"postmenopausal_since": s.now.date() + timedelta(days=3)}))


@pytest.mark.parametrize(("attempt", "field"), [
    (_bad_npi, "npi"),
    (_bad_ncpdp, "ncpdp_id"),
    (_future_birth_date, "birth_date"),
    (_unknown_category, "ppaf.category"),
    (_naive_collected_at, "collected_at"),
    (_future_collected_at, "collected_at"),
    (_postmenopause_in_future, "facts.postmenopausal_since"),
])
def test_invalid_input_is_refused_naming_the_field(scenario: Scenario, attempt: Any, field: str) -> None:
    scenario.enrolled("adult_frp")
    with pytest.raises(InvalidInput) as invalid:
        attempt(scenario)
    assert invalid.value.field == field
    assert scenario.count(Patient) == 1  # the one enrolled above, nothing more


def _renew(s: Scenario, category: str, signed_by: str = "patient", **facts: Any) -> Patient:
    stated = None if s.category.endswith("_male") else {**NO_FACTS, **facts}  # R35: all, for a female
    return s.call(patients.renew_ppaf, parse(
        RenewPpaf, patient_id=s.patient_id, facts=stated,
        ppaf={"category": category, "signed_by": signed_by,
              "guardian_name": "A Parent" if signed_by == "guardian" else None}), actor="dr")


def test_a_boy_turning_18_needs_an_adult_ppaf_before_the_next_authorization_r8(
        scenario: Scenario) -> None:
    birthday = scenario.now + timedelta(days=10)
    scenario.enrolled("child_male", birth_date=years_before(birthday.date(), 18))

    scenario.now = birthday - timedelta(days=1)  # the day before, the child PPAF still holds
    before = scenario.request()
    assert before.decision.allowed
    scenario.call(prescriptions.void_prescription, before.prescription.id, actor="dr")  # R36

    scenario.now = birthday  # nobody told the engine: it detects the birthday itself
    outcome = scenario.request()
    assert codes(outcome.decision) == ["R8_NEW_PPAF_REQUIRED"]
    assert outcome.prescription.category == "adult_male"  # R22: the category of the day
    assert scenario.fetch(Prescription, outcome.prescription.id).state == "requested"

    with pytest.raises(Refused) as refused:  # he is an adult now: his own PPAF, not a child's
        _renew(scenario, "child_male", signed_by="guardian")
    assert codes(refused.value) == ["R5_PPAF_CATEGORY_MISMATCH"]
    _renew(scenario, "adult_male")
    retried = scenario.call(prescriptions.authorize, outcome.prescription.id, scenario.prescriber_id)
    assert retried.decision.allowed
    assert retried.prescription.state == "authorized"
    assert retried.prescription.expires_at == birthday + timedelta(days=30)  # R23, non-FRP


def test_a_girl_reaching_menarche_needs_a_child_frp_ppaf_and_then_pregnancy_tests_r8(
        scenario: Scenario) -> None:
    scenario.enrolled("child_fnrp").survey()
    first = scenario.request()
    assert first.decision.allowed
    scenario.call(prescriptions.void_prescription, first.prescription.id, actor="dr")  # R36

    scenario.advance(days=20)
    with pytest.raises(Refused) as refused:
        _renew(scenario, "child_fnrp", signed_by="guardian", menarche=True)
    assert codes(refused.value) == ["R5_PPAF_CATEGORY_MISMATCH"]
    assert scenario.fetch(Patient, scenario.patient_id).menarche is False  # rolled back

    patient = _renew(scenario, "child_frp", signed_by="guardian", menarche=True)
    assert (patient.state, patient.test_phase) == ("active", "initial")
    assert scenario.trail("pregnancy_testing", patient.id) == [("become_frp", "not_required", "initial")]
    scenario.category = "child_frp"
    outcome = scenario.request()
    assert {"R9_EARLY_TEST_MISSING", "R9_RECENT_TEST_MISSING"} <= set(codes(outcome.decision))

    scenario.initial_tests().survey()  # R36: the same request, authorized once the tests are in
    retried = scenario.call(prescriptions.authorize, outcome.prescription.id, scenario.prescriber_id)
    assert codes(retried.decision) == []


def test_a_ppaf_renewed_at_the_same_instant_is_the_one_that_counts_r8(scenario: Scenario) -> None:
    scenario.enrolled("child_fnrp").survey()
    _renew(scenario, "child_frp", signed_by="guardian", menarche=True)  # same visit, same clock
    assert "R8_NEW_PPAF_REQUIRED" not in codes(scenario.request().decision)
