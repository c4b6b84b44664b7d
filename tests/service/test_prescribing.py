"""Authorization, confirmation and dispense (R9, R10, R15, R19, R20, R23, R24, R26-R29, R33)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from rems.domain.errors import NotFound, Refused
from rems.domain.model import Confirmation, Dispense, Patient, PregnancyTest, Prescription
from rems.services.dispensing import prescriptions
from tests.service.builders import Scenario, codes


def test_an_frp_prescription_goes_from_request_to_dispense_and_every_step_is_audited(
        scenario: Scenario) -> None:
    s = scenario.enrolled("adult_frp").initial_tests().survey()
    recent, = s.rows(PregnancyTest, PregnancyTest.collected_at == s.now - timedelta(hours=1))

    outcome = s.request(survey=False)  # R19: no authorization before the prescriber survey
    assert codes(outcome.decision) == ["R19_PRESCRIBER_SURVEY_MISSING"]
    rx = s.fetch(Prescription, outcome.prescription.id)
    assert (rx.state, rx.number, rx.category) == ("requested", None, "adult_frp")

    s.advance(minutes=5)
    authorized = s.call(prescriptions.record_prescriber_survey, rx.id, s.prescriber_id, actor="dr")
    rx = authorized.prescription
    assert authorized.decision.allowed and rx.state == "authorized"
    assert rx.number is not None and rx.number.startswith("POM-")
    assert rx.qualifying_test_id == recent.id
    # R23 (T2): to the end of day 7 on the patient's calendar (New York), the collection date
    # (14 March) being day 1 (was: 7 x 24 hours from collection).
    assert rx.expires_at == datetime(2026, 3, 20, 23, 59, 59, 999999, tzinfo=ZoneInfo("America/New_York"))

    s.advance(hours=2)
    assert s.call(prescriptions.check, s.pharmacy_request(rx.number)).allowed
    confirmation = s.confirm(rx.number)
    assert confirmation.state == "issued"
    assert confirmation.expires_at == s.now + timedelta(hours=24)  # R27
    s.advance(hours=1)
    dispense = s.dispense(confirmation.number)
    assert (dispense.prescription_id, dispense.days_supply) == (rx.id, 28)
    assert s.fetch(Confirmation, confirmation.id).state == "used"
    assert s.fetch(Patient, s.patient_id).test_phase == "weekly"  # R11 starts with treatment

    trail = s.audit("prescription", rx.id)
    assert [(a.trigger, a.from_state, a.to_state, a.actor) for a in trail] == [
        ("request", None, "requested", "dr"),
        ("authorize", "requested", "authorized", "dr"),
        ("confirm", "authorized", "confirmed", "pharmacist"),
        ("dispense", "confirmed", "dispensed", "pharmacist"),
    ]
    assert [a.at for a in trail] == sorted(a.at for a in trail)


def test_a_request_missing_everything_lists_every_failing_rule_and_stays_requested(
        scenario: Scenario) -> None:
    s = scenario.enrolled("adult_frp")
    outcome = s.request(survey=False, attest=False, days_supply=30, refills=1)
    assert set(codes(outcome.decision)) == {
        "R9_EARLY_TEST_MISSING", "R9_RECENT_TEST_MISSING", "R20_PATIENT_SURVEY_DUE",
        "R19_PRESCRIBER_SURVEY_MISSING", "R15_CONTRACEPTION_NOT_ATTESTED",
        "R24_SUPPLY_TOO_LONG", "R24_REFILLS_NOT_ALLOWED"}
    assert all(f.rule in f.code and f.remedy for f in outcome.decision.failures)
    rx = s.fetch(Prescription, outcome.prescription.id)
    assert (rx.state, rx.number, rx.expires_at) == ("requested", None, None)


def test_a_29_day_supply_never_authorizes_r24(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male")
    outcome = s.request(days_supply=29)
    assert codes(outcome.decision) == ["R24_SUPPLY_TOO_LONG"]
    s.advance(days=3)
    retried = s.call(prescriptions.authorize, outcome.prescription.id, s.prescriber_id)
    assert codes(retried.decision) == ["R24_SUPPLY_TOO_LONG"]
    assert s.fetch(Prescription, outcome.prescription.id).state == "requested"
    _void(s, outcome)  # R36: one open authorization at a time
    assert s.request(days_supply=28).decision.allowed


def _void(s: Scenario, outcome: prescriptions.Outcome) -> None:
    s.call(prescriptions.void_prescription, outcome.prescription.id, s.prescriber_id, actor="dr")


def test_a_weak_pregnancy_test_does_not_count_r10(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_frp").survey()
    s.pregnancy_test(hours_ago=0, sensitivity=50)
    s.advance(days=12).pregnancy_test(hours_ago=1, sensitivity=51)
    outcome = s.request()
    assert codes(outcome.decision) == ["R9_RECENT_TEST_MISSING", "R10_TEST_NOT_ACCEPTABLE"]


def test_a_test_more_sensitive_than_50_miu_counts_and_a_less_sensitive_one_does_not_r10(
        scenario: Scenario) -> None:
    s = scenario.enrolled("adult_frp").survey()
    s.pregnancy_test(hours_ago=0, sensitivity=25)
    s.advance(days=12).pregnancy_test(hours_ago=1, sensitivity=20)
    first = s.request()
    assert codes(first.decision) == []
    _void(s, first)  # R36: one open authorization at a time
    s.pregnancy_test(hours_ago=0, sensitivity=500)
    s.advance(hours=2)
    second = s.request()
    assert codes(second.decision) == []  # the 20 mIU/mL test still qualifies...
    _void(s, second)
    s.advance(hours=23)  # ...until it leaves the 24 h window; the 500 mIU/mL one must not count
    assert "R9_RECENT_TEST_MISSING" in codes(s.request().decision)


def test_a_male_is_not_held_to_an_optional_survey_before_his_first_prescription_r20(
        scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male").survey()
    s.advance(days=31)
    assert codes(s.request().decision) == []


def test_a_second_dispense_on_the_same_authorization_is_refused_r33(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male")
    rx, confirmation, _ = s.dispensed()
    assert rx.number is not None
    with pytest.raises(Refused) as refused:
        s.dispense(confirmation.number)
    assert "R33_ALREADY_DISPENSED" in codes(refused.value)
    with pytest.raises(Refused) as refused:
        s.confirm(rx.number)
    assert "R33_ALREADY_DISPENSED" in codes(refused.value)
    assert s.count(Dispense, Dispense.prescription_id == rx.id) == 1
    assert s.fetch(Prescription, rx.id).state == "dispensed"


def test_a_second_confirmation_while_one_is_live_is_refused_r26(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male")
    rx = s.authorized()
    assert rx.number is not None
    first = s.confirm(rx.number)
    other = s.new_pharmacy()
    for pharmacy in (s.pharmacy_id, other):
        with pytest.raises(Refused) as refused:
            s.confirm(rx.number, pharmacy)
        assert codes(refused.value) == ["R26_ALREADY_CONFIRMED"]
    s.advance(hours=24)  # still inside R27's window (inclusive)
    with pytest.raises(Refused):
        s.confirm(rx.number, other)
    assert [c.id for c in s.rows(Confirmation)] == [first.id]


def test_after_24_hours_the_stale_confirmation_expires_and_a_new_one_can_be_obtained_r27(
        scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male")
    rx = s.authorized()
    assert rx.number is not None
    stale = s.confirm(rx.number)
    s.advance(hours=24, minutes=1)
    with pytest.raises(Refused) as refused:
        s.dispense(stale.number)
    assert codes(refused.value) == ["R27_CONFIRMATION_EXPIRED"]

    fresh = s.confirm(rx.number, s.new_pharmacy())
    assert fresh.number != stale.number and fresh.state == "issued"
    assert s.trail("confirmation", stale.id) == [("issue", None, "issued"),
                                                 ("expire", "issued", "expired")]
    assert s.trail("prescription", rx.id)[-2:] == [("release", "confirmed", "authorized"),
                                                   ("confirm", "authorized", "confirmed")]
    with pytest.raises(Refused):
        s.dispense(stale.number)
    s.dispense(fresh.number, fresh.pharmacy_id)
    assert s.count(Dispense) == 1


def test_a_dispense_with_another_pharmacys_confirmation_is_not_found(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male")
    rx = s.authorized()
    assert rx.number is not None
    confirmation = s.confirm(rx.number)
    with pytest.raises(NotFound):
        s.dispense(confirmation.number, s.new_pharmacy())
    assert s.count(Dispense) == 0
    assert s.fetch(Confirmation, confirmation.id).state == "issued"


def test_a_dispense_without_complete_counselling_is_refused_r29(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male")
    rx = s.authorized()
    assert rx.number is not None
    confirmation = s.confirm(rx.number)
    for flags in ({"counselled": False}, {"checklist": False}, {"guide": False}):
        with pytest.raises(Refused) as refused:
            s.dispense(confirmation.number, **flags)  # type: ignore[arg-type]
        assert codes(refused.value) == ["R29_COUNSELLING_INCOMPLETE"]
    assert s.count(Dispense) == 0


@pytest.mark.parametrize("category", ["adult_male", "adult_frp"])
def test_the_next_prescription_is_dispensed_only_with_at_most_7_days_left_r28(
        scenario: Scenario, category: str) -> None:
    s = scenario.enrolled(category).ready()
    first_day = s.now
    s.dispensed()

    s.now = first_day + timedelta(days=20)  # 8 days of the 28 remain
    if category == "adult_frp":
        s.negative_test(hours_ago=2)  # R11: weekly during the first 4 weeks of treatment
    s.survey()  # R20: one survey for each prescription, after the previous dispense
    rx = s.authorized()
    assert rx.number is not None
    with pytest.raises(Refused) as refused:
        s.confirm(rx.number)
    assert codes(refused.value) == ["R28_TOO_EARLY"]

    s.now = first_day + timedelta(days=21)  # 7 days remain
    confirmation = s.confirm(rx.number)
    s.dispense(confirmation.number)
    assert s.count(Dispense, Dispense.patient_id == s.patient_id) == 2
