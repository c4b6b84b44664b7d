"""Local calendars and today's parameters (T1, T2, T3): birthdays (R6/R8), R9's calendar days,
R23's day 7, the category stamped at issue (R22), parameters effective at the program's midnight,
stored expiries as upper bounds, and records from the future. Expectations from REMS_RULES.md."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from rems.domain import gate
from tests.unit.builders import (
    RECENT,
    T0,
    WHEN,
    case,
    confirmation,
    days,
    dispense,
    failing,
    frp_case,
    hours,
    male_case,
    params,
    patient,
    ppaf,
    pregnancy_test,
    program,
    survey,
    with_rx,
)

NY = ZoneInfo("America/New_York")


def _program_changed(effective: date, **changes):
    """The pomalidomide program with a later parameter block (T3)."""
    later = replace(params(), effective_from=effective, **changes)
    return replace(program(), parameter_sets=(*program().parameter_sets, later))


# T1, R6, R8: the 18th birthday on the patient's own calendar


@pytest.mark.parametrize(("zone", "birthday_starts"), [
    ("Pacific/Auckland", datetime(2026, 3, 2, 11, 0, tzinfo=UTC)),  # NZDT, UTC+13
    ("Asia/Kolkata", datetime(2026, 3, 2, 18, 30, tzinfo=UTC)),  # UTC+5:30
    ("America/New_York", datetime(2026, 3, 3, 5, 0, tzinfo=UTC)),  # EST, UTC-5
    ("UTC", datetime(2026, 3, 3, 0, 0, tzinfo=UTC)),
])
def test_t1_r8_a_boy_turns_18_at_midnight_in_his_own_zone(zone, birthday_starts):
    boy = patient("child_male", birth_date=date(2008, 3, 3), time_zone=zone)
    records = case("child_male", "authorize", patient=boy)
    assert failing("authorize", records, birthday_starts - timedelta(seconds=1)) == set()
    assert failing("authorize", records, birthday_starts) == {"R8_NEW_PPAF_REQUIRED"}


def test_t1_a_patient_without_a_zone_uses_the_programs():
    boy = patient("child_male", birth_date=date(2008, 3, 3), time_zone=None)
    eve_in_new_york = datetime(2026, 3, 3, 4, 0, tzinfo=UTC)  # already 3 March in UTC
    assert failing("authorize", case("child_male", "authorize", patient=boy), eve_in_new_york) == set()


def test_r8_r22_the_category_a_prescription_carries_must_be_todays_at_the_pharmacy():
    """An authorization carries the category in force when issued; a child's one is refused
    after the birthday (R22), an adult's one issued after it is not."""
    boy = patient("child_male", birth_date=date(2008, 3, 3))
    after = datetime(2026, 3, 3, 6, 0, tzinfo=UTC)
    renewed = (ppaf("child_male"), ppaf("adult_male", after - hours(1)))
    stale = case("child_male", "confirm", patient=boy, ppafs=renewed)
    assert failing("confirm", stale, after) == {"R22_CATEGORY_CHANGED"}
    fresh = with_rx(stale, category="adult_male")
    assert failing("confirm", fresh, after) == set()


# T2, R9: "10 to 14 days before" counts local dates; "within 24 hours" is elapsed


@pytest.mark.parametrize(("early", "reference", "expected"), [
    # 23:30 on 15 Feb, prescription at 00:30 on 2 March: 15 calendar days (14 d 1 h elapsed)
    (datetime(2026, 2, 15, 23, 30, tzinfo=NY), datetime(2026, 3, 2, 0, 30, tzinfo=NY), {"R9_EARLY_TEST_MISSING"}),
    # 23:50 on 21 Feb, prescription at 00:10 on 3 March: 10 calendar days (9 d 0 h 20 min elapsed)
    (datetime(2026, 2, 21, 23, 50, tzinfo=NY), datetime(2026, 3, 3, 0, 10, tzinfo=NY), set()),
    (datetime(2026, 2, 16, 0, 0, tzinfo=NY), datetime(2026, 3, 2, 23, 59, tzinfo=NY), set()),  # 14 days
    (datetime(2026, 2, 20, 23, 59, tzinfo=NY), datetime(2026, 3, 2, 0, 0, tzinfo=NY), set()),  # 10 days
    (datetime(2026, 2, 21, 0, 0, tzinfo=NY), datetime(2026, 3, 2, 23, 59, tzinfo=NY), {"R9_EARLY_TEST_MISSING"}),  # 9
])
def test_t2_r9_the_first_test_is_10_to_14_local_calendar_days_before(early, reference, expected):
    reference = reference.astimezone(UTC)
    records = frp_case(tests=(pregnancy_test(early.astimezone(UTC)), pregnancy_test(reference - hours(1))),
                       patient_surveys=(survey(reference - days(1)),))
    assert failing("authorize", records, reference) == expected


def test_r9_the_early_requirement_says_when_a_too_recent_test_will_qualify():
    young = T0 - days(5)  # collected 25 Feb in New York: qualifies from the start of 7 March
    records = frp_case(tests=(pregnancy_test(young), pregnancy_test(RECENT)))
    failure = next(f for f in gate.evaluate("authorize", records, program(), T0).failures
                   if f.code == "R9_EARLY_TEST_MISSING")
    assert failure.earliest == datetime(2026, 3, 7, 0, 0, tzinfo=NY)


# T2, R23: valid to the end of day 7 on the patient's calendar, the collection date being day 1


@pytest.mark.parametrize(("zone", "end_of_day_7"), [
    ("Asia/Kolkata", datetime(2026, 3, 8, 23, 59, 59, 999999, tzinfo=ZoneInfo("Asia/Kolkata"))),  # RECENT: 2 Mar there
    ("Pacific/Auckland", datetime(2026, 3, 8, 23, 59, 59, 999999, tzinfo=ZoneInfo("Pacific/Auckland"))),
    ("America/New_York", datetime(2026, 3, 7, 23, 59, 59, 999999, tzinfo=NY)),  # RECENT: 1 Mar there
    ("UTC", datetime(2026, 3, 7, 23, 59, 59, 999999, tzinfo=UTC)),
])
def test_t2_r23_an_frp_authorization_is_valid_to_the_end_of_local_day_7(zone, end_of_day_7):
    records = frp_case(patient=patient("adult_frp", time_zone=zone))
    expires_at, _ = gate.authorization_expiry(records, program(), T0)
    assert expires_at == end_of_day_7
    confirm = with_rx(replace(records, prescription=records.prescription), state="authorized",
                      number="POM-1", authorized_at=T0, expires_at=expires_at,
                      qualifying_test_id=pregnancy_test(RECENT).id)
    assert failing("confirm", confirm, expires_at) == set()
    assert failing("confirm", confirm, expires_at + timedelta(microseconds=1)) == {"R23_AUTHORIZATION_EXPIRED"}


# T3: today's parameters, effective at midnight in the program's zone; stored expiry an upper bound


def test_t3_parameters_take_effect_at_midnight_in_the_programs_zone():
    changed = _program_changed(date(2026, 3, 3), max_supply_days=14)
    records = with_rx(male_case(), days_supply=28, quantity=28)
    before = datetime(2026, 3, 3, 4, 59, 59, tzinfo=UTC)  # still 2 March in New York
    assert "R24_SUPPLY_TOO_LONG" not in {f.code for f in gate.evaluate("authorize", records, changed, before).failures}
    assert "R24_SUPPLY_TOO_LONG" in {f.code for f in gate.evaluate(
        "authorize", records, changed, before + timedelta(seconds=1)).failures}


def test_t3_a_shortened_frp_validity_cuts_a_stored_expiry_short():
    changed = _program_changed(date(2026, 3, 3), frp_authorization_valid_days=3)
    records = with_rx(frp_case("confirm"), qualifying_test_id=pregnancy_test(RECENT).id,
                      expires_at=datetime(2026, 3, 8, 4, 59, 59, tzinfo=UTC))  # issued under 7 days
    day_4 = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # 4 March: past day 3 from a 1 March test
    assert gate.evaluate("confirm", records, program(), day_4).allowed
    codes = {f.code for f in gate.evaluate("confirm", records, changed, day_4).failures}
    assert codes == {"R23_AUTHORIZATION_EXPIRED"}


def test_t3_a_longer_validity_never_extends_a_stored_expiry():
    changed = _program_changed(date(2026, 3, 3), authorization_valid_days=60)
    records = male_case("confirm")  # stored: T0 + 30 days
    late = T0 + days(31)
    codes = {f.code for f in gate.evaluate("confirm", records, changed, late).failures}
    assert "R23_AUTHORIZATION_EXPIRED" in codes


def test_t3_r27_a_shortened_confirmation_validity_holds_over_the_stored_one():
    changed = _program_changed(date(2026, 3, 3), confirmation_valid_hours=12)
    records = male_case("dispense", confirmation=confirmation(issued_at=WHEN["confirm"]))
    at = WHEN["confirm"] + hours(20)  # 3 March 06:00 UTC: inside 24 h, outside 12 h
    assert gate.evaluate("dispense", records, program(), at).allowed
    assert {f.code for f in gate.evaluate("dispense", records, changed, at).failures} == {"R27_CONFIRMATION_EXPIRED"}


# Records from the future count (issue 13 item 8)


def test_a_survey_stamped_after_now_counts():
    now = WHEN["confirm"]
    records = male_case("confirm", dispenses=(dispense(now - days(21)),), patient_surveys=(survey(now + hours(1)),))
    assert failing("confirm", records, now) == set()


def test_a_dispense_stamped_after_now_is_a_previous_dispense_for_r20():
    now = WHEN["confirm"]
    records = male_case("confirm", dispenses=(dispense(now + hours(1), days_supply=1),),
                        patient_surveys=(survey(now - hours(1)),))
    assert failing("confirm", records, now) == {"R20_PATIENT_SURVEY_DUE"}


def test_t3_program_at_reads_an_instant_on_the_programs_calendar():
    """Every caller of Program.at (certification, interop, web) gets the program's midnight."""
    changed = _program_changed(date(2026, 3, 3), max_supply_days=14)
    assert changed.at(datetime(2026, 3, 3, 4, 59, 59, tzinfo=UTC)).max_supply_days == 28  # 2 March in New York
    assert changed.at(datetime(2026, 3, 3, 5, 0, tzinfo=UTC)).max_supply_days == 14
    assert changed.at(date(2026, 3, 3)).max_supply_days == 14
