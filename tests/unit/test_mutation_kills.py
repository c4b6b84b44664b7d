"""Boundaries found by mutation testing of rems/domain (mutmut): each test pins an edge where a
mutant turned a "no" into a "yes" (or a wrong "when"). Expectations from REMS_RULES.md."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from rems.domain import schedule
from rems.domain.model import PregnancyReport
from rems.domain.requirements import need
from tests.unit.builders import (
    EARLY,
    RECENT,
    SIGNED,
    T0,
    WHEN,
    days,
    decide,
    dispense,
    failing,
    frp_case,
    hours,
    male_case,
    ppaf,
    pregnancy_test,
    prescription,
    program,
    survey,
    with_rx,
)

MICRO = timedelta(microseconds=1)


def test_r28_a_short_supply_stamped_after_now_has_used_no_day():
    now = WHEN["dispense"]
    records = male_case("dispense", dispenses=(dispense(now + hours(1), days_supply=8),),
                        patient_surveys=(survey(now + hours(2)),))
    assert failing("dispense", records, now) == {"R28_TOO_EARLY"}  # 8 on hand, not 7


def test_r28_the_window_of_an_8_day_supply_opens_after_one_whole_day():
    now = WHEN["confirm"]
    records = male_case("confirm", dispenses=(dispense(now - hours(1), days_supply=8),),
                        patient_surveys=(survey(now),))
    failure, = decide("confirm", records, now).failures
    assert failure.earliest == now - hours(1) + days(1)


def test_r28_refill_opens_when_little_was_dispensed_is_the_latest_dispense():
    given = [dispense(T0, "a", 3), dispense(T0 + hours(1), "b", 4)]
    assert schedule.refill_opens(given, 7, "UTC") == T0 + hours(1)
    assert schedule.refill_opens([dispense(T0, "a", 28)], 7, "UTC") == T0 + days(21)
    assert schedule.refill_opens([], 7, "UTC") is None


def test_r34_a_report_made_at_the_instant_of_the_readmission_still_blocks():
    report = PregnancyReport(id="rep", patient_id="pt-other", reported_at=T0 - days(1), source="patient")
    records = male_case(pregnancy_reports=(report,), readmitted_at=report.reported_at)
    assert failing("authorize", records) == {"R34_PERSON_PREGNANCY_STOP"}


def test_r34_a_test_collected_a_microsecond_before_the_readmission_never_qualifies():
    positive = pregnancy_test(T0 - days(40), result="positive")
    tests = (positive, pregnancy_test(EARLY), pregnancy_test(RECENT))
    assert failing("authorize", frp_case(tests=tests, readmitted_at=EARLY + MICRO)) == {"R9_EARLY_TEST_MISSING"}
    assert failing("authorize", frp_case(tests=tests, readmitted_at=EARLY)) == set()  # collected at it: counts


def test_r9_r11_a_break_in_frp_ppafs_restarts_the_initial_pair():
    """FRP, dispensed, then an FNRP PPAF, then FRP again: treatment restarts (R9), so one recent
    test alone does not do."""
    first = SIGNED - days(60)
    records = frp_case(ppafs=(ppaf("adult_frp", first), ppaf("adult_fnrp", first + days(20)), ppaf("adult_frp", SIGNED)),
                       dispenses=(dispense(first + days(5)),), tests=(pregnancy_test(RECENT),),
                       patient_surveys=(survey(T0 - hours(2)),))
    assert failing("authorize", records) == {"R9_EARLY_TEST_MISSING"}


def test_r36_an_authorization_at_its_very_expiry_instant_is_still_open():
    other = prescription("adult_male", "confirm", id="rx-0", expires_at=T0)
    assert failing("authorize", replace(male_case(), other_prescriptions=(other,))) == {"R36_OPEN_AUTHORIZATION"}


def test_r36_an_open_frp_authorization_is_judged_on_the_patients_calendar():
    records = frp_case()
    other = prescription("adult_frp", "confirm", id="rx-0", expires_at=T0 + days(20),
                         qualifying_test_id=pregnancy_test(RECENT).id)
    assert failing("authorize", replace(records, other_prescriptions=(other,))) == {"R36_OPEN_AUTHORIZATION"}
    # its test is from 1 March (New York): day 7 ends 8 March 05:00 UTC, before the stored bound
    later = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)
    assert schedule.effective_expiry(other, records.tests, schedule.params_at(program(), later),
                                     "America/New_York") == later - MICRO


def test_t3_an_authorized_prescription_without_a_stored_expiry_gets_todays():
    rx = with_rx(male_case("confirm"), expires_at=None).prescription
    assert rx is not None
    assert schedule.effective_expiry(rx, (), schedule.params_at(program(), T0), "UTC") == T0 + days(30)


def test_a_requirement_as_dict_gives_its_earliest_instant_as_iso_text():
    assert need(False, "R28", "R28_TOO_EARLY", "m", "r", T0).as_dict()["earliest"] == T0.isoformat()
    assert need(True, "R28", "R28_TOO_EARLY", "m", "r", T0).as_dict()["earliest"] is None




def test_r20_a_survey_at_the_very_instant_of_the_previous_dispense_does_not_count():
    now = WHEN["confirm"]
    given = dispense(now - days(21))
    records = male_case("confirm", dispenses=(given,), patient_surveys=(survey(given.dispensed_at),))
    assert failing("confirm", records, now) == {"R20_PATIENT_SURVEY_DUE"}


def test_the_readiness_stage_of_an_frp_patient_judges_tests_now():
    from rems.domain import gate

    records = replace(frp_case(), prescription=None)
    assert gate.evaluate("readiness", records, program(), T0).allowed
    later = gate.evaluate("readiness", records, program(), T0 + days(2))
    assert {f.code for f in later.failures} == {"R9_RECENT_TEST_MISSING"}


# The schedule's dates for people (status page, reminders), from REMS_RULES.md


def test_r20_survey_due_for_people():
    rule = program().at(T0).survey["adult_male"]
    first = dispense(T0, "rx-a", 28)
    assert schedule.survey_due(rule, "adult_male", [], [], "UTC", 7) is None  # first prescription
    assert schedule.survey_due(rule, "adult_male", [], [first], "UTC", 7) == T0 + days(21)  # by the next dispense
    done = survey(T0 + hours(1))
    assert schedule.survey_due(rule, "adult_male", [done], [first], "UTC", 7) == \
        datetime(2026, 4, 1, 23, 59, 59, 999999, tzinfo=UTC)  # 2 March + 30 days, end of day
    frp = program().at(T0).survey["adult_frp"]
    assert schedule.survey_due(frp, "adult_frp", [], [], "UTC", 7) == schedule.OVERDUE


def test_r8_category_change_is_the_local_midnight_of_the_18th_birthday():
    from datetime import date

    from tests.unit.builders import patient

    boy = patient("child_male", birth_date=date(2008, 3, 3), time_zone="Asia/Kolkata")
    assert schedule.category_change(boy, program(), T0) == datetime(2026, 3, 2, 18, 30, tzinfo=UTC)
    assert schedule.category_change(patient("adult_male"), program(), T0) is None


def test_r11_the_next_test_is_due_a_cadence_after_the_latest_acceptable_test():
    ppafs = (ppaf("adult_frp", T0 - days(60)),)
    start = dispense(T0 - days(50))
    tests = (pregnancy_test(T0 - days(3)), pregnancy_test(T0 - days(1), sensitivity=500))  # the weak one: no
    params = program().at(T0)
    assert schedule.test_due(tests, ppafs, (start,), True, params) == T0 - days(3) + days(28)
    assert schedule.test_due(tests, ppafs, (start,), False, params) == T0 - days(3) + days(14)
    assert schedule.test_due(tests, ppafs, (), True, params) is None  # before treatment R9 applies
    positive = pregnancy_test(T0 - days(2), result="positive")
    assert schedule.test_due((*tests, positive), ppafs, (start,), True, params) is None
