"""The dispense gate's non-time requirements, and the shape of its decision (R1-R6, R15, R19, R24-R33)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rems.domain import gate
from tests.unit.builders import (
    RECENT,
    T0,
    WHEN,
    case,
    certification,
    confirmation,
    counselling,
    days,
    decide,
    failing,
    frp_case,
    male_case,
    patient,
    ppaf,
    pregnancy_test,
    program,
    with_rx,
)

STAGES = ("authorize", "confirm", "dispense")
CATEGORIES = ("adult_frp", "child_frp", "adult_fnrp", "child_fnrp", "adult_male", "child_male")


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("category", CATEGORIES)
def test_a_fully_satisfied_case_is_allowed_at_every_stage(category, stage):
    decision = decide(stage, case(category, stage))
    assert decision.allowed
    assert decision.failures == ()
    assert decision.requirements  # it did check something


# R1, R3: prescriber certification


@pytest.mark.parametrize(("state", "expected"), [
    ("enrolled", "R1_PRESCRIBER_NOT_CERTIFIED"),
    ("lapsed", "R1_PRESCRIBER_NOT_CERTIFIED"),
    ("suspended", "R3_PRESCRIBER_SUSPENDED"),
    ("revoked", "R3_PRESCRIBER_SUSPENDED"),
])
@pytest.mark.parametrize("stage", STAGES)
def test_r1_r3_only_a_certified_unsuspended_prescriber_passes(stage, state, expected):
    records = male_case(stage, prescriber_certification=certification("prescriber", state=state))
    assert failing(stage, records) == {expected}


@pytest.mark.parametrize("held", [None, certification("prescriber", "lenalidomide")], ids=["none", "other-program"])
@pytest.mark.parametrize("stage", STAGES)
def test_r1_a_prescriber_certified_in_another_program_or_none_is_not_certified_here(stage, held):
    """R1: certification is per program; a lenalidomide certification does not count for pomalidomide."""
    assert failing(stage, male_case(stage, prescriber_certification=held)) == {"R1_PRESCRIBER_NOT_CERTIFIED"}


# R25: pharmacy certification, checked at the pharmacy stages only


@pytest.mark.parametrize(("change", "expected"), [
    ({"pharmacy_certification": certification("pharmacy", state="enrolled", certified_at=None)},
     "R25_PHARMACY_NOT_CERTIFIED"),
    ({"pharmacy": None}, "R25_PHARMACY_NOT_CERTIFIED"),
    ({"pharmacy_certification": None}, "R25_PHARMACY_NOT_CERTIFIED"),
    ({"pharmacy_certification": certification("pharmacy", "thalidomide")}, "R25_PHARMACY_NOT_CERTIFIED"),
    ({"pharmacy_certification": certification("pharmacy", state="suspended")}, "R25_PHARMACY_SUSPENDED"),
    ({"pharmacy_certification": certification("pharmacy", state="lapsed")}, "R25_PHARMACY_LAPSED"),
    ({"pharmacy_certification": certification("pharmacy", certified_at=WHEN["confirm"] - days(731))},
     "R25_PHARMACY_LAPSED"),
], ids=["enrolled", "no-pharmacy", "not-certified-in-any-program", "certified-in-another-program",
        "suspended", "lapsed-state", "certified-731-days-ago"])
def test_r25_confirmation_needs_a_certified_unsuspended_unlapsed_pharmacy(change, expected):
    assert failing("confirm", male_case("confirm", **change)) == {expected}


def test_r25_the_pharmacy_does_not_gate_the_prescriber_authorization():
    suspended = certification("pharmacy", state="suspended")
    assert failing("authorize", male_case(pharmacy_certification=suspended)) == set()


# R5, R12, R30: patient state and positive tests


@pytest.mark.parametrize(("state", "expected"), [
    ("pending", "R5_PATIENT_NOT_ENROLLED"),
    ("interrupted", "R5_THERAPY_INTERRUPTED"),
    ("discontinued", "R5_PATIENT_DISCONTINUED"),
    ("on_hold", "R12_PATIENT_ON_HOLD"),
    ("interrupted_on_hold", "R12_PATIENT_ON_HOLD"),
    ("pregnancy_stop", "R30_PREGNANCY_REPORTED"),
])
@pytest.mark.parametrize("stage", STAGES)
def test_r5_r12_r30_only_an_active_patient_passes(stage, state, expected):
    assert failing(stage, frp_case(stage, patient=patient(state=state))) == {expected}


@pytest.mark.parametrize(("stage", "positive_at", "also"), [
    ("authorize", T0 - days(5), {"R9_EARLY_TEST_MISSING"}),  # the 12-day test predates the positive
    ("dispense", WHEN["confirm"], {"R9_EARLY_TEST_MISSING", "R9_RECENT_TEST_MISSING"}),
])
def test_r30_r34_any_positive_test_refuses_and_no_earlier_test_qualifies(stage, positive_at, also):
    """R30 stops at once; R34: a test collected before a positive test never qualifies (was:
    only R30_POSITIVE_TEST, the earlier negatives still counting)."""
    records = frp_case(stage)
    records = replace(records, tests=(*records.tests, pregnancy_test(positive_at, result="positive")))
    assert records.patient.state == "active"
    assert failing(stage, records) == {"R30_POSITIVE_TEST"} | also


# R6, R8: the PPAF


@pytest.mark.parametrize("category", ["child_frp", "child_fnrp", "child_male"])
def test_r6_a_child_ppaf_must_be_signed_by_a_guardian(category):
    records = case(category, "authorize", ppafs=(ppaf(category, signed_by="patient"),))
    assert failing("authorize", records) == {"R6_GUARDIAN_SIGNATURE_MISSING"}
    guarded = case(category, "authorize", ppafs=(ppaf(category, signed_by="guardian"),))
    assert failing("authorize", guarded) == set()


def test_r6_an_adult_may_sign_their_own_ppaf():
    assert failing("authorize", male_case(ppafs=(ppaf("adult_male", signed_by="patient"),))) == set()


@pytest.mark.parametrize(("ppafs", "expected"), [
    ((), {"R8_NEW_PPAF_REQUIRED"}),
    ((ppaf("adult_fnrp"),), {"R8_NEW_PPAF_REQUIRED"}),
    ((ppaf("adult_fnrp", T0 - days(30)), ppaf("adult_frp", T0 - days(20))), set()),  # the latest counts
    ((ppaf("adult_frp", T0 - days(30)), ppaf("adult_fnrp", T0 - days(20))), {"R8_NEW_PPAF_REQUIRED"}),
])
def test_r5_r8_the_latest_ppaf_must_be_for_the_current_category(ppafs, expected):
    assert failing("authorize", frp_case(ppafs=ppafs)) == expected


# R15, R19, R24: the prescription itself


def test_r15_frp_prescription_needs_contraception_counselling_attested():
    records = with_rx(frp_case(), contraception_counselling_attested=False)
    assert failing("authorize", records) == {"R15_CONTRACEPTION_NOT_ATTESTED"}


def test_r15_male_prescription_does_not_need_contraception_counselling_attested():
    assert failing("authorize", with_rx(male_case(), contraception_counselling_attested=False)) == set()


@pytest.mark.parametrize("stage", STAGES)
def test_r19_prescriber_survey_missing_is_refused(stage):
    records = male_case(stage, prescriber_survey_done=False)
    assert failing(stage, records) == {"R19_PRESCRIBER_SURVEY_MISSING"}


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize(("change", "expected"), [
    ({"days_supply": 28}, set()),
    ({"days_supply": 29}, {"R24_SUPPLY_TOO_LONG"}),
    ({"refills": 1}, {"R24_REFILLS_NOT_ALLOWED"}),
])
def test_r24_at_most_a_28_day_supply_and_no_refills(stage, change, expected):
    assert failing(stage, with_rx(male_case(stage), **change)) == expected


# R26, R29, R33: the authorization's state and the dispense


@pytest.mark.parametrize("stage", ["confirm", "dispense"])
def test_r33_a_dispensed_prescription_is_refused(stage):
    records = with_rx(male_case(stage), state="dispensed")
    if stage == "dispense":
        records = replace(records, confirmation=confirmation(state="used"))
    codes = failing(stage, records)
    assert "R33_ALREADY_DISPENSED" in codes
    assert codes <= {"R33_ALREADY_DISPENSED", "R26_CONFIRMATION_INVALID"}


@pytest.mark.parametrize("flag", ["counselled", "education_checklist_completed", "medication_guide_given"])
def test_r29_each_counselling_item_is_required_at_dispense(flag):
    records = male_case("dispense", counselling=counselling(**{flag: False}))
    assert failing("dispense", records) == {"R29_COUNSELLING_INCOMPLETE"}


def test_r29_counselling_not_recorded_is_refused():
    assert failing("dispense", male_case("dispense", counselling=None)) == {"R29_COUNSELLING_INCOMPLETE"}


@pytest.mark.parametrize("change", [
    {"confirmation": None},
    {"confirmation": confirmation(prescription_id="rx-other")},
    {"confirmation": confirmation(pharmacy_id="ph-other")},
    {"confirmation": confirmation(state="voided")},
], ids=["missing", "other-prescription", "other-pharmacy", "voided"])
def test_r26_dispense_needs_a_live_confirmation_for_this_pharmacy_and_authorization(change):
    assert "R26_CONFIRMATION_INVALID" in failing("dispense", male_case("dispense", **change))


# The decision lists every failing gate, not the first


def test_every_failing_gate_is_listed_not_just_the_first():
    records = frp_case("dispense", prescriber_certification=certification("prescriber", state="suspended"),
                       pharmacy_certification=certification("pharmacy", state="enrolled"),
                       tests=(pregnancy_test(RECENT),), patient_surveys=(), prescriber_survey_done=False,
                       counselling=counselling(counselled=False))
    records = with_rx(records, days_supply=29, refills=1, contraception_counselling_attested=False)
    assert failing("dispense", records) == {
        "R3_PRESCRIBER_SUSPENDED", "R25_PHARMACY_NOT_CERTIFIED", "R9_EARLY_TEST_MISSING",
        "R20_PATIENT_SURVEY_DUE", "R19_PRESCRIBER_SURVEY_MISSING", "R24_SUPPLY_TOO_LONG",
        "R24_REFILLS_NOT_ALLOWED", "R15_CONTRACEPTION_NOT_ATTESTED", "R29_COUNSELLING_INCOMPLETE"}


def test_every_failure_cites_its_rule_and_says_what_would_satisfy_it():
    records = male_case("dispense", prescriber_certification=None, counselling=None)
    failures = decide("dispense", records).failures
    assert len(failures) == 2
    for failure in failures:
        assert failure.code.startswith(failure.rule + "_")
        assert failure.message and failure.remedy


def test_decision_as_dict_has_allowed_failures_and_every_requirement():
    decision = decide("dispense", male_case("dispense", counselling=None))
    data = decision.as_dict()
    assert data["stage"] == "dispense"
    assert data["allowed"] is False
    assert [f["code"] for f in data["failures"]] == ["R29_COUNSELLING_INCOMPLETE"]
    assert len(data["requirements"]) == len(decision.requirements) > 1
    assert set(data["failures"][0]) == {"rule", "code", "met", "message", "remedy", "earliest", "fda_code"}
    assert data["failures"][0]["fda_code"] == "C128515"  # issue 17: the declaration's REMS code
    assert data["failures"][0]["earliest"] == "once counselling is recorded"
    assert decide("dispense", male_case("dispense")).as_dict()["allowed"] is True


@pytest.mark.parametrize(("stage", "records"), [
    ("readiness", male_case("authorize")),
    ("authorize", male_case("readiness")),
    ("prescribe", male_case("authorize")),
])
def test_the_gate_refuses_an_unknown_stage_or_a_prescription_mismatch(stage, records):
    with pytest.raises(ValueError, match="stage"):
        gate.evaluate(stage, records, program(), T0)
