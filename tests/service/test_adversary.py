"""Issue 13's adversary findings, one test each, through the real services on SQLite and PostgreSQL.

Each expectation is written from REMS_RULES.md, not from the gate: the answer the rule gives for the
history the review used to get capsules out of the engine. The races (SQLite serialisation, safety
actions that lost races) are in test_races.py; program-file switches in tests/unit/test_program_loader.py;
per-program certification in test_certification_programs.py; the person in test_person.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from rems.domain.errors import InvalidInput, Refused
from rems.domain.model import Dispense, Patient
from rems.services.commands import DecideReadmission, RenewPpaf, parse
from rems.services.context import Context
from rems.services.dispensing import prescriptions
from rems.services.enrollment import patients, persons
from rems.services.views.status import patient_status
from tests.service.builders import NO_FACTS, Scenario, codes

NEW_YORK = ZoneInfo("America/New_York")


def _cycle(s: Scenario, days: int) -> Dispense:
    """One prescription of `days` for a male, with the survey R20 asks for it, dispensed now."""
    s.survey()
    return s.dispensed(days_supply=days)[2]


def test_short_prescriptions_do_not_reopen_the_refill_window_r28(scenario: Scenario) -> None:
    """7 + 7 + 7 ... within minutes: after two 7-day supplies, 14 days are on hand (> 7): refused."""
    s = scenario.certified_prescriber().certified_pharmacy().enrolled("adult_male").ready()
    _cycle(s, 7)  # on hand before: 0
    s.advance(minutes=10)
    _cycle(s, 7)  # on hand before: 7 (<= 7)
    s.advance(minutes=10).survey()
    rx = s.authorized(days_supply=7)
    assert rx.number is not None
    with pytest.raises(Refused) as refused:
        s.confirm(rx.number)
    assert "R28_TOO_EARLY" in codes(refused.value)
    assert s.count(Dispense, Dispense.patient_id == s.patient_id) == 2


def test_nine_one_day_prescriptions_leave_at_most_seven_days_on_hand_r28(scenario: Scenario) -> None:
    s = scenario.certified_prescriber().certified_pharmacy().enrolled("adult_male").ready()
    for _ in range(8):  # on hand before each: 0, 1, ..., 7
        _cycle(s, 1)
        s.advance(minutes=5)
    s.survey()
    rx = s.authorized(days_supply=1)
    assert rx.number is not None
    with pytest.raises(Refused) as refused:  # 8 on hand
        s.confirm(rx.number)
    assert "R28_TOO_EARLY" in codes(refused.value)


def test_a_quantity_that_does_not_fit_the_days_is_refused_r24(scenario: Scenario) -> None:
    """Pomalidomide: at most one capsule a day, so 1 day fits 1 capsule, not 10,000 (nor 2)."""
    s = scenario.certified_prescriber().certified_pharmacy().enrolled("adult_male").ready()
    for quantity in (10_000, 2):
        outcome = s.request(days_supply=1, quantity=quantity)
        assert "R24_QUANTITY_EXCEEDS_DAYS" in codes(outcome.decision)
        assert outcome.prescription.state == "requested"
        s.call(prescriptions.void_prescription, outcome.prescription.id, actor="dr")  # R36
    assert s.request(days_supply=1, quantity=1).decision.allowed


def test_a_mans_second_prescription_needs_a_survey_after_the_first_dispense_r20(
        scenario: Scenario) -> None:
    """R20: one survey per prescription; a male's first needs none, the following ones do."""
    s = scenario.certified_prescriber().certified_pharmacy().enrolled("adult_male")
    s.dispensed()  # first prescription: no survey needed
    s.advance(days=25)
    outcome = s.request()
    assert "R20_PATIENT_SURVEY_DUE" in codes(outcome.decision)
    status = s.read(lambda uow: patient_status(uow, Context("dr", s.now), s.patient_id))
    # One answer to one question: the status page shows the survey the gate wants, due now.
    survey = [d for d in status["due_next"] if d["rule"] == "R20"]
    assert survey and survey[0]["overdue"], status["due_next"]
    s.survey()
    assert s.call(prescriptions.authorize, outcome.prescription.id, s.prescriber_id,
                  actor="dr").decision.allowed


def test_one_open_authorization_per_patient_r36(scenario: Scenario) -> None:
    s = scenario.certified_prescriber().certified_pharmacy().enrolled("adult_male").ready()
    s.authorized()
    with pytest.raises(Refused) as refused:
        s.request()
    assert codes(refused.value) == ["R36_OPEN_AUTHORIZATION"]


def test_a_woman_stopped_for_a_positive_test_cannot_come_back_on_older_negatives_r34(
        scenario: Scenario) -> None:
    """Discontinued after a positive test and enrolled again: refused without the administrator's
    decision; with it, negative tests collected before the positive never qualify (R34, R9)."""
    s = scenario.certified_prescriber().certified_pharmacy().enrolled("adult_frp").initial_tests()
    first = s.fetch(Patient, s.patient_id)
    s.pregnancy_test("positive", hours_ago=0.5)
    s.advance(hours=1)
    s.call(patients.change_state, first.id, "discontinue", actor="dr")
    again = {"name": first.name, "birth_date": first.birth_date}
    with pytest.raises(Refused) as refused:
        s.enrolled("adult_frp", **again)
    assert codes(refused.value) == ["R34_READMISSION_DECISION_MISSING"]
    s.call(persons.decide_readmission, parse(
        DecideReadmission, patient_id=first.id, program_id=s.program,
        reason="reviewed: the pregnancy ended; therapy may resume"), actor="admin")
    s.enrolled("adult_frp", **again).survey()
    outcome = s.request()  # only the tests from before the positive one exist
    assert {"R9_EARLY_TEST_MISSING", "R9_RECENT_TEST_MISSING"} <= set(codes(outcome.decision))
    assert s.count(Dispense) == 0


def test_the_same_man_enrolled_twice_is_refused_r34(scenario: Scenario) -> None:
    s = scenario.certified_prescriber().enrolled("adult_male")
    first = s.fetch(Patient, s.patient_id)
    with pytest.raises(Refused) as refused:
        s.enrolled("adult_male", name=first.name.upper(), birth_date=first.birth_date)
    assert codes(refused.value) == ["R34_ALREADY_ENROLLED"]
    assert s.count(Patient) == 1


def test_a_renewal_must_state_menarche_and_recorded_menarche_stays_r35(scenario: Scenario) -> None:
    s = scenario.certified_prescriber().enrolled("child_frp")
    partial = {k: v for k, v in NO_FACTS.items() if k != "menarche"}
    with pytest.raises(InvalidInput) as missing:
        parse(RenewPpaf, patient_id=s.patient_id, facts=partial,
              ppaf={"category": "child_fnrp", "signed_by": "guardian", "guardian_name": "A Parent"})
    assert "menarche" in missing.value.field
    with pytest.raises((InvalidInput, Refused)):  # recorded menarche cannot be unset by a renewal
        s.call(patients.renew_ppaf, parse(
            RenewPpaf, patient_id=s.patient_id, facts={**NO_FACTS, "menarche": False},
            ppaf={"category": "child_fnrp", "signed_by": "guardian", "guardian_name": "A Parent"}),
            actor="dr")
    assert s.fetch(Patient, s.patient_id).menarche is True


def test_a_postmenopausal_date_before_birth_is_refused_naming_the_field_r35(scenario: Scenario) -> None:
    s = scenario.certified_prescriber()
    birth = date(1960, 5, 1)
    with pytest.raises(InvalidInput) as refused:
        s.enrolled("adult_fnrp", birth_date=birth,
                   facts={**NO_FACTS, "menarche": True, "postmenopausal_since": date(1959, 1, 1)})
    assert refused.value.field.endswith("postmenopausal_since")
    assert s.count(Patient) == 0


def test_the_eighteenth_birthday_falls_on_the_patients_calendar_r6_t1(scenario: Scenario) -> None:
    """20:00 in New York on the eve of her 18th birthday is already her birthday in UTC; she is
    still a child there, so she cannot sign her own adult PPAF (R6, R8 on her calendar, T1)."""
    eve = datetime(2026, 3, 1, 20, 0, tzinfo=NEW_YORK)  # 2026-03-02 01:00 UTC
    s = scenario.certified_prescriber()
    s.now = eve.astimezone(UTC)
    with pytest.raises(Refused) as refused:
        s.enrolled("adult_frp", birth_date=date(2008, 3, 2), time_zone="America/New_York")
    assert "R5_PPAF_CATEGORY_MISMATCH" in codes(refused.value)
    s.enrolled("child_frp", birth_date=date(2008, 3, 2), time_zone="America/New_York")


def test_a_confirmation_lasts_24_hours_across_a_dst_change_r27_t1(scenario: Scenario) -> None:
    """A Context given in a DST zone is normalised to UTC: 24 hours stay 24 hours (2026-03-08)."""
    s = scenario.certified_prescriber().certified_pharmacy().enrolled("adult_male").ready()
    s.now = datetime(2026, 3, 7, 12, 0, tzinfo=NEW_YORK)  # the night before the clocks go forward
    rx = s.authorized()
    assert rx.number is not None
    confirmation = s.confirm(rx.number)
    assert confirmation.expires_at - confirmation.issued_at == timedelta(hours=24)
    assert confirmation.issued_at.utcoffset() == timedelta(0)


def test_a_prescription_requested_before_a_birthday_carries_the_category_at_issue_r8_r22(
        scenario: Scenario) -> None:
    """Requested by a 17-year-old boy's prescriber, authorized after his birthday with a new PPAF:
    the authorization carries adult_male, and the pharmacy is not refused for R22."""
    s = scenario.certified_prescriber().certified_pharmacy()
    birthday = (s.now + timedelta(days=2)).astimezone(NEW_YORK).date()
    s.enrolled("child_male", birth_date=birthday.replace(year=birthday.year - 18))
    pending = s.request(survey=False)  # R19: the prescriber survey is still missing
    assert not pending.decision.allowed
    s.advance(days=3)
    s.call(patients.renew_ppaf, parse(RenewPpaf, patient_id=s.patient_id, facts=None,
                                      ppaf={"category": "adult_male"}), actor="dr")
    outcome = s.call(prescriptions.record_prescriber_survey, pending.prescription.id, s.prescriber_id,
                     actor="dr")
    assert outcome.decision.allowed, codes(outcome.decision)
    assert outcome.prescription.category == "adult_male"
    assert outcome.prescription.number is not None
    assert s.confirm(outcome.prescription.number).number
