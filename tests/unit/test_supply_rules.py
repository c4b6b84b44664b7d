"""R24 (quantity fits the days), R28 (supply on hand from every earlier dispense) and R36 (one open
authorization): each boundary from both sides, expectations from REMS_RULES.md."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.builders import (
    T0,
    WHEN,
    case,
    days,
    decide,
    dispense,
    failing,
    hours,
    male_case,
    prescription,
    survey,
    with_rx,
)
from workflows.program import load_programs

MINUTE = timedelta(minutes=1)


def _next(stage: str, earlier: tuple, now: datetime, days_supply: int = 28):
    """The next prescription of an adult male at `stage`, with `earlier` dispenses and a survey
    after the last of them (R20 is not what these tests are about)."""
    return with_rx(male_case(stage, dispenses=earlier, patient_surveys=(survey(now - MINUTE / 2),)),
                   days_supply=days_supply, quantity=days_supply)


# R24: quantity <= days x max units a day


@pytest.mark.parametrize("stage", ["authorize", "confirm", "dispense"])
@pytest.mark.parametrize(("days_supply", "quantity", "expected"), [
    (28, 28, set()), (28, 29, {"R24_QUANTITY_EXCEEDS_DAYS"}), (1, 1, set()),
    (1, 10_000, {"R24_QUANTITY_EXCEEDS_DAYS"}), (7, 8, {"R24_QUANTITY_EXCEEDS_DAYS"}),
])
def test_r24_the_quantity_must_fit_the_days_at_one_capsule_a_day(stage, days_supply, quantity, expected):
    records = with_rx(male_case(stage), days_supply=days_supply, quantity=quantity)
    assert failing(stage, records) == expected


def test_r24_thalidomide_allows_its_own_daily_maximum():
    thalidomide = load_programs()["thalidomide"]
    per_day = thalidomide.at(T0).max_units_per_day
    assert per_day > 1
    from rems.domain import gate
    ok = replace(with_rx(male_case(), quantity=28 * per_day), patient=male_case().patient)
    too_many = with_rx(ok, quantity=28 * per_day + 1)
    assert "R24_QUANTITY_EXCEEDS_DAYS" not in {f.code for f in gate.evaluate("authorize", ok, thalidomide, T0).failures}
    assert "R24_QUANTITY_EXCEEDS_DAYS" in {f.code for f in gate.evaluate("authorize", too_many, thalidomide, T0).failures}


# R28: supply on hand, every earlier dispense added up


@pytest.mark.parametrize("stage", ["confirm", "dispense"])
@pytest.mark.parametrize(("elapsed", "expected"), [
    (days(21) - timedelta(seconds=1), {"R28_TOO_EARLY"}),  # 8 days on hand (20 whole days used)
    (days(21), set()),  # 7 on hand
])
def test_r28_one_28_day_supply_reopens_when_7_days_remain(stage, elapsed, expected):
    now = WHEN[stage]
    assert failing(stage, _next(stage, (dispense(now - elapsed),), now), now) == expected


def test_r28_7_7_7_7_28_within_40_minutes_is_refused_at_the_third():
    """The stockpiling case of issue 13: short prescriptions do not reopen the window."""
    start, given, allowed = T0, [], []
    for n, supply in enumerate((7, 7, 7, 7, 28)):
        now = start + timedelta(minutes=10 * n)
        ok = not failing("dispense", _next("dispense", tuple(given), now, supply), now)
        allowed.append(ok)
        if ok:
            given.append(dispense(now, f"rx-prev-{n}", supply))
    assert allowed == [True, True, False, False, False]
    assert sum(d.days_supply for d in given) == 14


def test_r28_nine_1_day_prescriptions_in_a_row_stop_once_more_than_7_days_are_on_hand():
    given, allowed = [], []
    for n in range(9):
        now = T0 + timedelta(minutes=n)
        ok = not failing("dispense", _next("dispense", tuple(given), now, 1), now)
        allowed.append(ok)
        if ok:
            assert len(given) <= 7  # on hand before each allowed dispense: at most 7 days
            given.append(dispense(now, f"rx-prev-{n}", 1))
    assert allowed == [True] * 8 + [False]


def test_r28_a_dispense_stamped_after_now_is_on_hand_in_full():
    now = WHEN["dispense"]
    future = dispense(now + hours(1), days_supply=28)
    assert "R28_TOO_EARLY" in failing("dispense", _next("dispense", (future,), now), now)


def test_r28_a_day_counts_only_after_24_hours_and_a_turn_of_the_local_calendar():
    """23:55 in New York, then 00:05: the calendar turned but no 24 hours passed: 0 days used."""
    dispensed = datetime(2026, 3, 3, 4, 55, tzinfo=UTC)  # 23:55 EST on 2 March
    earlier = (dispense(dispensed, days_supply=8),)
    now = dispensed + timedelta(minutes=10)
    assert "R28_TOO_EARLY" in failing("dispense", _next("dispense", earlier, now), now)
    later = dispensed + days(1)  # 24 hours and one calendar day: 7 left
    assert "R28_TOO_EARLY" not in failing("dispense", _next("dispense", earlier, later), later)


def test_r28_a_25_hour_dst_day_uses_one_day_not_two():
    dispensed = datetime(2026, 11, 1, 4, 10, tzinfo=UTC)  # 00:10 EDT, the day clocks fall back
    earlier = (dispense(dispensed, days_supply=8),)
    now = dispensed + hours(24) + timedelta(minutes=30)  # 23:40 EST the same local day
    assert "R28_TOO_EARLY" in failing("dispense", _next("dispense", earlier, now), now)


def test_r28_earliest_is_the_instant_the_sum_falls_to_the_window():
    now = WHEN["dispense"]
    earlier = (dispense(now - days(10), "rx-a", 28), dispense(now - days(3), "rx-b", 7))
    # on hand now: 18 + 4 = 22; rx-b is used up in 4 days, rx-a reaches 7 at 21 days from it
    failure, = (f for f in decide("dispense", _next("dispense", earlier, now), now).failures
                if f.code == "R28_TOO_EARLY")
    assert failure.earliest == now + days(11)
    opens = now + days(11)  # asked at the confirm stage (a confirmation lasts 24 hours)
    assert failing("confirm", _next("confirm", earlier, opens), opens) == set()
    assert failing("confirm", _next("confirm", earlier, opens - MINUTE), opens - MINUTE) == {"R28_TOO_EARLY"}


def test_r28_the_prescriptions_own_dispense_is_not_an_earlier_one():
    now = WHEN["confirm"]
    own = dispense(now - hours(1), prescription_id="rx-1")
    assert "R28_TOO_EARLY" not in failing("confirm", _next("confirm", (own,), now), now)


# R36: one open authorization per patient per program


@pytest.mark.parametrize(("other", "expected"), [
    (prescription("adult_male", "authorize", id="rx-0"), {"R36_OPEN_AUTHORIZATION"}),  # requested
    (prescription("adult_male", "confirm", id="rx-0"), {"R36_OPEN_AUTHORIZATION"}),  # authorized
    (prescription("adult_male", "dispense", id="rx-0"), {"R36_OPEN_AUTHORIZATION"}),  # confirmed
    (prescription("adult_male", "confirm", id="rx-0", state="dispensed"), set()),
    (prescription("adult_male", "confirm", id="rx-0", state="voided"), set()),
    (prescription("adult_male", "confirm", id="rx-0", state="expired"), set()),
    (prescription("adult_male", "confirm", id="rx-0", authorized_at=T0 - days(31),
                  expires_at=T0 - days(1)), set()),  # past its expiry, not yet swept
], ids=["requested", "authorized", "confirmed", "dispensed", "voided", "expired", "time-expired"])
def test_r36_authorize_refuses_while_another_authorization_is_open(other, expected):
    records = replace(male_case(), other_prescriptions=(other,))
    assert failing("authorize", records) == expected


def test_r36_the_prescription_itself_is_not_another_open_one():
    records = male_case()
    assert failing("authorize", replace(records, other_prescriptions=(records.prescription,))) == set()


def test_r36_a_requirement_says_what_to_do():
    records = replace(male_case(), other_prescriptions=(prescription("adult_male", "confirm", id="rx-0"),))
    failure, = decide("authorize", records).failures
    assert "void" in failure.remedy and failure.earliest


def test_case_helper_is_allowed_for_every_category_with_a_dispense_history():
    """Sanity for the builders used above: a later prescription with a survey after the previous
    dispense and 7 days on hand passes in every category that needs no test."""
    for category in ("adult_male", "child_male", "adult_fnrp", "child_fnrp"):
        now = WHEN["dispense"]
        records = case(category, "dispense", dispenses=(dispense(now - days(21)),),
                       patient_surveys=(survey(now - hours(1)),))
        assert failing("dispense", records, now) == set(), category


def test_r28_part_of_a_day_is_not_a_day_used_however_many_dispenses_add_up():
    """Two 4-day supplies dispensed at 22:00 in New York; at 10:00 the next morning the calendar
    has turned but no 24 hours have passed: nothing is used, 8 days are on hand (> 7), refused.
    (Counting half days, 4 - 0.5 + 4 - 0.5 = 7, would wrongly allow it.)"""
    evening = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # 22:00 EST on 1 March
    earlier = (dispense(evening, "rx-a", 4), dispense(evening + MINUTE, "rx-b", 4))
    morning = evening + MINUTE + hours(12)  # 10:01 EST on 2 March, 12 h after the second
    records = _next("confirm", earlier, morning, days_supply=7)
    assert "R28_TOO_EARLY" in failing("confirm", records, morning)
    next_day = evening + hours(24) + MINUTE * 2  # a day used of each: 3 + 3 on hand
    assert "R28_TOO_EARLY" not in failing("confirm", _next("confirm", earlier, next_day, 7), next_day)
