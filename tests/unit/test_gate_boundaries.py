"""The dispense gate at the edges of its time windows: each boundary from both sides (R8-R11, R20-R28)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from rems.domain import gate
from tests.unit.builders import (
    EARLY,
    RECENT,
    SECOND,
    T0,
    WHEN,
    case,
    certification,
    confirmation,
    days,
    dispense,
    failing,
    frp_case,
    hours,
    male_case,
    patient,
    ppaf,
    pregnancy_test,
    program,
    survey,
    with_rx,
)

# R9: the initial pair of negative tests, judged against the prescription


@pytest.mark.parametrize(("age", "expected"), [
    (days(9), {"R9_EARLY_TEST_MISSING"}),
    (days(10), set()),
    (days(14), set()),
    (days(15), {"R9_EARLY_TEST_MISSING"}),
])
def test_r9_first_test_must_be_collected_10_to_14_days_before_the_prescription(age, expected):
    records = frp_case(tests=(pregnancy_test(T0 - age), pregnancy_test(RECENT)))
    assert failing("authorize", records) == expected


@pytest.mark.parametrize(("age", "expected"), [
    (hours(24), set()),
    (hours(24) + SECOND, {"R9_RECENT_TEST_MISSING"}),
])
def test_r9_second_test_must_be_collected_within_24_hours_before_the_prescription(age, expected):
    records = frp_case(tests=(pregnancy_test(EARLY), pregnancy_test(T0 - age)))
    assert failing("authorize", records) == expected


def test_r9_pharmacy_stages_judge_the_pair_against_the_authorization_not_the_dispense_time():
    later = T0 + days(3)  # the 24-hour test is 3.5 days old by now, but was fresh at authorization
    records = frp_case("confirm")
    assert failing("confirm", records, later) == set()
    assert failing("authorize", with_rx(records, state="requested", authorized_at=None), later) == {
        "R9_EARLY_TEST_MISSING", "R9_RECENT_TEST_MISSING"}


# R10: sensitivity and home tests


@pytest.mark.parametrize(("recent", "expected"), [
    (pregnancy_test(RECENT, sensitivity=51), {"R9_RECENT_TEST_MISSING", "R10_TEST_NOT_ACCEPTABLE"}),
    (pregnancy_test(RECENT, sensitivity=50), set()),
    (pregnancy_test(RECENT, sensitivity=25), set()),
    (pregnancy_test(RECENT, setting="home", accepted=False),
     {"R9_RECENT_TEST_MISSING", "R10_TEST_NOT_ACCEPTABLE"}),
    (pregnancy_test(RECENT, setting="home", accepted=True), set()),
], ids=["51-miu-refused", "50-miu-counts", "25-miu-counts", "home-not-accepted-refused", "home-accepted-counts"])
def test_r10_only_a_sensitive_enough_or_prescriber_accepted_test_counts(recent, expected):
    records = frp_case(tests=(pregnancy_test(EARLY), recent))
    assert failing("authorize", records) == expected


# R11: cadence once treatment has started (a dispense after the FRP PPAF)

START = T0 - days(60)


def _in_treatment(now: datetime, test_age, cycles_regular: bool = True):
    return frp_case(patient=patient(cycles_regular=cycles_regular), ppafs=(ppaf("adult_frp", START - days(20)),),
                    dispenses=(dispense(START),), tests=(pregnancy_test(now - test_age),),
                    patient_surveys=(survey(now - days(1)),))


@pytest.mark.parametrize(("week", "test_age", "expected"), [
    (days(14), days(7), set()),
    (days(14), days(8), {"R11_TEST_OVERDUE"}),
    (days(28) - SECOND, days(8), {"R11_TEST_OVERDUE"}),  # still inside the first 4 weeks
])
def test_r11_tests_are_weekly_for_the_first_4_weeks_of_treatment(week, test_age, expected):
    # R23 separately refuses any test 7+ days old at authorize; R11 is judged on its own here.
    now = START + week
    assert failing("authorize", _in_treatment(now, test_age), now) & {"R11_TEST_OVERDUE"} == expected


@pytest.mark.parametrize(("regular", "test_age", "expected"), [
    (True, days(28), set()),
    (True, days(29), {"R11_TEST_OVERDUE"}),
    (False, days(14), set()),
    (False, days(15), {"R11_TEST_OVERDUE"}),
], ids=["regular-28d-ok", "regular-29d-refused", "irregular-14d-ok", "irregular-15d-refused"])
def test_r11_after_4_weeks_tests_are_every_28_days_if_cycles_regular_else_14(regular, test_age, expected):
    now = START + days(40)
    codes = failing("authorize", _in_treatment(now, test_age, regular), now)
    assert codes & {"R11_TEST_OVERDUE"} == expected
    assert codes & {"R11_TEST_OVERDUE", "R23_TEST_TOO_OLD_TO_AUTHORIZE"}  # all are 7+ days old


def test_r11_a_dispense_before_the_frp_ppaf_does_not_start_treatment_so_r9_applies():
    now = START + days(14)
    records = frp_case(ppafs=(ppaf("adult_frp", START + days(1)),), dispenses=(dispense(START),),
                       tests=(pregnancy_test(now - days(2)),), patient_surveys=(survey(now - days(1)),))
    assert failing("authorize", records, now) == {"R9_EARLY_TEST_MISSING", "R9_RECENT_TEST_MISSING"}


# R23: authorization validity


def test_r23_authorization_expiry_is_end_of_day_7_from_the_qualifying_test_for_frp_and_30_days_otherwise():
    # RECENT is 16:00 on 1 March in New York (the program's zone): day 1; day 7 is 7 March, which
    # ends at 05:00 UTC on 8 March (EST, UTC-5). Was: 7 x 24 hours from collection.
    end_of_day_7 = datetime(2026, 3, 8, 4, 59, 59, 999999, tzinfo=UTC)
    assert gate.authorization_expiry(frp_case(), program(), T0) == (end_of_day_7, pregnancy_test(RECENT).id)
    assert gate.authorization_expiry(male_case(), program(), T0) == (T0 + days(30), None)


def test_r23_authorization_expiry_refuses_an_frp_patient_without_a_qualifying_test():
    with pytest.raises(ValueError, match="no qualifying test"):
        gate.authorization_expiry(frp_case(tests=(pregnancy_test(EARLY),)), program(), T0)


@pytest.mark.parametrize("stage", ["confirm", "dispense"])
@pytest.mark.parametrize(("records", "used", "expected"), [
    (frp_case, RECENT + days(7) - SECOND, set()),
    (frp_case, RECENT + days(7) + SECOND, {"R23_AUTHORIZATION_EXPIRED"}),
    (frp_case, RECENT + days(8), {"R23_AUTHORIZATION_EXPIRED"}),
    (male_case, T0 + days(30) - SECOND, set()),
    (male_case, T0 + days(31), {"R23_AUTHORIZATION_EXPIRED"}),
], ids=["frp-day7-1s-ok", "frp-day7+1s-refused", "frp-day8-refused", "male-day30-1s-ok", "male-day31-refused"])
def test_r23_an_expired_authorization_is_refused_at_the_pharmacy(stage, records, used, expected):
    base = records(stage, confirmation=confirmation(issued_at=used - hours(1)))
    assert failing(stage, base, used) == expected


@pytest.mark.parametrize(("regular", "test_age"), [(True, days(20)), (False, days(10)), (True, days(7))])
def test_r11_r23_an_frp_test_too_old_for_a_live_authorization_is_refused_at_authorize(regular, test_age):
    records = _in_treatment(T0, test_age, regular)
    assert failing("authorize", records) == {"R23_TEST_TOO_OLD_TO_AUTHORIZE"}


def test_r23_an_frp_authorization_on_a_6_day_old_test_expires_at_the_end_of_the_local_day():
    records = _in_treatment(T0, days(6), True)  # collected 24 Feb (day 1): day 7 is today, 2 March
    assert failing("authorize", records) == set()
    expires_at, _ = gate.authorization_expiry(records, program(), T0)
    assert expires_at == datetime(2026, 3, 3, 4, 59, 59, 999999, tzinfo=UTC)  # midnight EST, less 1 µs


# R27: the confirmation number is valid 24 hours


@pytest.mark.parametrize(("late", "expected"), [(SECOND * 0, set()), (SECOND, {"R27_CONFIRMATION_EXPIRED"})])
def test_r27_dispense_must_be_recorded_by_the_confirmation_expiry(late, expected):
    records = frp_case("dispense")
    assert records.confirmation is not None
    assert failing("dispense", records, records.confirmation.expires_at + late) == expected


# R28: not too early after the previous dispense


@pytest.mark.parametrize("stage", ["confirm", "dispense"])
@pytest.mark.parametrize(("days_left", "expected"), [(8, {"R28_TOO_EARLY"}), (7, set())])
def test_r28_next_supply_only_when_at_most_7_days_of_the_previous_remain(stage, days_left, expected):
    previous = dispense(WHEN[stage] - days(28 - days_left), days_supply=28)
    surveyed = (survey(WHEN[stage] - hours(1)),)  # R20: a survey after the previous dispense
    assert failing(stage, male_case(stage, dispenses=(previous,), patient_surveys=surveyed)) == expected


# R25: pharmacy recertification interval


@pytest.mark.parametrize(("age", "expected"), [(days(730), set()), (days(730) + SECOND, {"R25_PHARMACY_LAPSED"})])
def test_r25_pharmacy_certification_lapses_after_730_days(age, expected):
    now = WHEN["confirm"]
    held = certification("pharmacy", certified_at=now - age)
    assert failing("confirm", male_case("confirm", pharmacy_certification=held)) == expected


# R20: patient survey cadence


NEW_YORK = ZoneInfo("America/New_York")


def _ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)


@pytest.mark.parametrize(("category", "completed", "expected"), [
    # T0 is 2 March (New York); a survey on local date D counts through the end of D + interval.
    ("adult_frp", _ny(2026, 1, 31, 0, 0, 1), set()),
    ("adult_frp", _ny(2026, 1, 30, 23, 59, 59), {"R20_PATIENT_SURVEY_DUE"}),
    ("adult_fnrp", _ny(2025, 9, 1, 0, 0, 1), set()),  # 182 days before 2 March
    ("adult_fnrp", _ny(2025, 8, 31, 23, 59, 59), {"R20_PATIENT_SURVEY_DUE"}),
])
def test_r20_t1_patient_survey_is_due_after_the_category_interval_in_local_calendar_days(
        category, completed, expected):
    """Was: elapsed 30 x 24 h; T1 now counts survey intervals on the patient's calendar."""
    assert failing("authorize", case(category, "authorize", patient_surveys=(survey(completed),))) == expected


def test_r20_frp_needs_a_survey_before_the_first_prescription():
    assert failing("authorize", frp_case(patient_surveys=())) == {"R20_PATIENT_SURVEY_DUE"}


@pytest.mark.parametrize(("dispensed", "surveys", "expected"), [
    ((), (), set()),  # none before the first prescription
    ((dispense(T0 - days(30)),), (), {"R20_PATIENT_SURVEY_DUE"}),  # was allowed: 30 days from the first dispense
    ((dispense(T0 - days(2)),), (), {"R20_PATIENT_SURVEY_DUE"}),
    ((dispense(T0 - days(2)),), (survey(T0 - days(3)),), {"R20_PATIENT_SURVEY_DUE"}),  # before the dispense
    ((dispense(T0 - days(2)),), (survey(T0 - days(1)),), set()),
    ((dispense(T0 - days(40)), dispense(T0 - days(20))), (survey(T0 - days(30)),), {"R20_PATIENT_SURVEY_DUE"}),
], ids=["first-rx-exempt", "second-rx-no-survey", "second-rx-soon-no-survey", "survey-before-dispense",
        "survey-after-dispense", "third-rx-survey-only-after-the-first"])
def test_r20_a_male_needs_one_survey_for_each_prescription_after_his_first(dispensed, surveys, expected):
    assert failing("authorize", male_case(dispenses=dispensed, patient_surveys=surveys)) == expected


def test_r20_a_monthly_survey_must_follow_the_previous_dispense_for_frp_too():
    start = T0 - days(10)
    records = _in_treatment(T0, days(1))
    stale = replace(records, dispenses=(dispense(start), dispense(T0 - hours(2), "rx-9")),
                    patient_surveys=(survey(T0 - hours(3)),))
    assert "R20_PATIENT_SURVEY_DUE" in failing("authorize", stale)


def test_r20_adult_fnrp_is_judged_by_interval_not_per_prescription():
    records = case("adult_fnrp", "authorize", patient_surveys=(survey(T0 - days(100)),),
                   dispenses=(dispense(T0 - days(21)),))
    assert failing("authorize", records) == set()


# R6/R8/R22: the 18th birthday changes the category by itself

EVE = datetime(2026, 3, 3, 4, 59, 59, tzinfo=UTC)  # 23:59:59 on 2 March in New York (T1)
MIDNIGHT = datetime(2026, 3, 3, 5, 0, tzinfo=UTC)  # the 18th birthday begins in New York


def _boy(stage: str):
    return case("child_male", stage, patient=patient("child_male", birth_date=date(2008, 3, 3)))


@pytest.mark.parametrize(("stage", "now", "expected"), [
    ("authorize", EVE, set()),
    ("authorize", MIDNIGHT, {"R8_NEW_PPAF_REQUIRED"}),
    ("confirm", EVE, set()),
    ("confirm", MIDNIGHT, {"R8_NEW_PPAF_REQUIRED", "R22_CATEGORY_CHANGED"}),
])
def test_r8_r22_a_child_male_ppaf_stops_counting_on_his_18th_birthday(stage, now, expected):
    assert failing(stage, _boy(stage), now) == expected


def test_r8_a_new_adult_ppaf_on_the_birthday_satisfies_authorize_but_not_the_old_child_authorization():
    renewed = (ppaf("child_male"), ppaf("adult_male", MIDNIGHT))
    assert failing("authorize", replace(_boy("authorize"), ppafs=renewed), MIDNIGHT) == set()
    assert failing("confirm", replace(_boy("confirm"), ppafs=renewed), MIDNIGHT) == {"R22_CATEGORY_CHANGED"}
