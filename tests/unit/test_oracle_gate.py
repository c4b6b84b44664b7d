"""The gate against an independent oracle (issue 13): histories of prescriptions, dispenses and
surveys, birthdays and pregnancy tests in several zones, drawn by hypothesis.

The ORACLE below is written from REMS_RULES.md with its own small arithmetic; it imports nothing
from the gate's helpers (no rems.domain.calendar, schedule, testing or categories):
- R24: days <= 28 and quantity <= days x max units a day (1 for pomalidomide).
- R28: on hand = sum over earlier dispenses of max(0, days - whole days since); a day counts once
  24 hours have passed and the patient's calendar has turned (the engine's documented reading,
  which never under-counts what is on hand); allowed when on hand <= 7.
- R20: a male needs no survey before his first prescription, then one survey completed after the
  previous dispense for each prescription, within 30 days (local dates); an adult FNRP needs a
  survey within 182 local days, prescription or not.
- R8/R6: the category changes at local midnight of the 18th birthday (29 Feb -> 1 Mar); the
  latest PPAF must be for it.
- R9: the first negative test on a local date 10..14 days before the prescription's, the second
  within 24 hours (elapsed) before it.
- R23: an FRP authorization is valid to the end of local day 7, the test's date being day 1.

Default: a short profile (well under 30 s). `REMS_FUZZ_EXAMPLES=2000` (make fuzz) runs the long one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rems.domain import gate
from rems.domain.model import Dispense, PatientSurvey, Ppaf
from tests.unit.builders import (
    case,
    patient,
    ppaf,
    pregnancy_test,
    prescription,
    program,
    survey,
)

EXAMPLES = int(os.environ.get("REMS_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 200,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
ZONES = ("America/New_York", "Pacific/Auckland", "Asia/Kolkata", "UTC")
START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
WATCHED = ("R8_", "R20_", "R22_", "R24_", "R28_", "R9_", "R23_", "R6_")

# -- the oracle (REMS_RULES.md, nothing from the gate) ------------------------------------------

MAX_DAYS, UNITS_A_DAY, WINDOW, ADULT_AT = 28, 1, 7, 18
MALE_SURVEY_DAYS, FNRP_SURVEY_DAYS, FRP_VALID_DAYS = 30, 182, 7


def o_date(instant: datetime, zone: str) -> date:
    return instant.astimezone(ZoneInfo(zone)).date()


def o_midnight(day: date, zone: str) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone))


def o_eighteenth(born: date) -> date:
    year = born.year + ADULT_AT
    if (born.month, born.day) == (2, 29) and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        return date(year, 3, 1)
    return date(year, born.month, born.day)


def o_category(sex: str, born: date, now: datetime, zone: str, fnrp: bool) -> str:
    age = "adult" if o_date(now, zone) >= o_eighteenth(born) else "child"
    return f"{age}_male" if sex == "male" else f"{age}_{'fnrp' if fnrp else 'frp'}"


def o_on_hand(dispenses: list[tuple[datetime, int]], now: datetime, zone: str) -> int:
    left = 0
    for at, days in dispenses:
        if now <= at:
            used = 0
        else:
            whole_24h = int((now - at).total_seconds() // 86400)
            turned = (o_date(now, zone) - o_date(at, zone)).days
            used = max(0, min(whole_24h, turned))
        left += max(0, days - used)
    return left


def o_survey_ok(category: str, surveys: list[datetime], dispenses: list[tuple[datetime, int]],
                now: datetime, zone: str) -> bool:
    today = o_date(now, zone)
    if category.endswith("fnrp") and category.startswith("adult"):
        return any((today - o_date(s, zone)).days <= FNRP_SURVEY_DAYS for s in surveys)
    if not dispenses:
        return not category.endswith("frp") or bool(surveys)  # males: none before the first
    last = max(at for at, _ in dispenses)
    return any(s > last and (today - o_date(s, zone)).days <= MALE_SURVEY_DAYS for s in surveys)


def o_refusals(sex: str, born: date, zone: str, fnrp: bool, ppaf_category: str, days: int, quantity: int,
               surveys: list[datetime], dispenses: list[tuple[datetime, int]], now: datetime) -> set[str]:
    category = o_category(sex, born, now, zone, fnrp)
    out = set()
    if ppaf_category != category:
        out.add("R8_NEW_PPAF_REQUIRED")
    if days > MAX_DAYS:
        out.add("R24_SUPPLY_TOO_LONG")
    if quantity > days * UNITS_A_DAY:
        out.add("R24_QUANTITY_EXCEEDS_DAYS")
    if o_on_hand(dispenses, now, zone) > WINDOW:
        out.add("R28_TOO_EARLY")
    if not o_survey_ok(category, surveys, dispenses, now, zone):
        out.add("R20_PATIENT_SURVEY_DUE")
    return out


# -- histories of prescriptions (R8, R20, R22, R24, R28) ----------------------------------------

step = st.fixed_dictionaries({
    "advance": st.one_of(st.integers(0, 90), st.integers(0, 3 * 1440), st.integers(20 * 1440, 22 * 1440),
                         st.integers(29 * 1440, 32 * 1440), st.integers(0, 35 * 1440)),  # minutes
    "survey_minutes_ago": st.one_of(st.none(), st.integers(0, 600)),
    "days": st.one_of(st.integers(1, 28), st.integers(1, 7), st.sampled_from([1, 28, 29, 30])),
    "extra": st.sampled_from([0, 0, 0, -1, 1, 5]),
    "renew": st.booleans(),
    "stamp_ahead": st.sampled_from([0, 0, 0, 0, 30]),  # minutes: a dispense stamped after `now`
})


@dataclass
class History:
    zone: str
    sex: str
    born: date
    fnrp: bool
    now: datetime
    ppafs: list[Ppaf] = field(default_factory=list)
    surveys: list[PatientSurvey] = field(default_factory=list)
    dispenses: list[Dispense] = field(default_factory=list)

    def category(self) -> str:
        return o_category(self.sex, self.born, self.now, self.zone, self.fnrp)


def _records(h: History, days: int, quantity: int, serial: int) -> gate.Records:
    base = case("adult_male", "confirm")
    pat = patient("adult_male" if h.sex == "male" else "adult_fnrp", birth_date=h.born, time_zone=h.zone)
    rx = prescription(h.category(), "confirm", id=f"rx-{serial}", days_supply=days, quantity=quantity,
                      authorized_at=h.now, requested_at=h.now, expires_at=h.now + timedelta(days=30))
    return replace(base, patient=pat, prescription=rx, ppafs=tuple(h.ppafs), tests=(),
                   patient_surveys=tuple(h.surveys), dispenses=tuple(h.dispenses))


@FUZZ
@given(zone=st.sampled_from(ZONES), sex=st.sampled_from(["male", "female"]),
       birthday_in=st.integers(-40, 200), start_minutes=st.integers(0, 365 * 1440),
       leapling=st.booleans(), steps=st.lists(step, min_size=1, max_size=12))
def test_the_gate_agrees_with_the_oracle_on_histories(zone, sex, birthday_in, start_minutes, leapling, steps):
    now = START + timedelta(minutes=start_minutes)
    turns_18 = o_date(now, zone) + timedelta(days=birthday_in)  # never 29 Feb (2026-2027)
    born = date(2008, 2, 29) if leapling else date(turns_18.year - ADULT_AT, turns_18.month, turns_18.day)
    if sex == "female":
        born = date(1970, born.month, min(born.day, 28))  # an adult FNRP (hysterectomy in the profile)
    h = History(zone, sex, born, fnrp=sex == "female", now=now)
    h.ppafs.append(replace(ppaf(h.category(), now - timedelta(days=30)), id="ppaf-0"))
    for serial, s in enumerate(steps):
        h.now += timedelta(minutes=s["advance"])
        if s["renew"] and h.ppafs[-1].category != h.category():
            h.ppafs.append(replace(ppaf(h.category(), h.now - timedelta(minutes=1)), id=f"ppaf-{serial + 1}"))
        if s["survey_minutes_ago"] is not None:
            at = h.now - timedelta(minutes=s["survey_minutes_ago"])
            h.surveys.append(replace(survey(at), id=f"survey-{serial}", completed_at=at))
        days, quantity = s["days"], max(1, s["days"] + s["extra"])
        expected = o_refusals(sex, born, zone, h.fnrp, h.ppafs[-1].category, days, quantity,
                              [x.completed_at for x in h.surveys],
                              [(d.dispensed_at, d.days_supply) for d in h.dispenses], h.now)
        decision = gate.evaluate("confirm", _records(h, days, quantity, serial), program(), h.now)
        got = {f.code for f in decision.failures}
        assert got == expected, (serial, h.now.isoformat(), got, expected)
        if decision.allowed:
            at = h.now + timedelta(minutes=s["stamp_ahead"])
            h.dispenses.append(Dispense(id=f"disp-{serial}", prescription_id=f"rx-{serial}", confirmation_id="c",
                                        pharmacy_id="ph-1", patient_id="pt-1", dispensed_at=at, days_supply=days,
                                        counselled=True, education_checklist_completed=True,
                                        medication_guide_given=True))
    # R28: nothing was ever dispensed with more than the window on hand
    for i, d in enumerate(h.dispenses):
        before = [(x.dispensed_at, x.days_supply) for x in h.dispenses[:i]]
        assert o_on_hand(before, d.dispensed_at, zone) <= WINDOW


# -- the first FRP prescription (R9) and its authorization (R23) ---------------------------------


@FUZZ
@given(zone=st.sampled_from(ZONES), start_minutes=st.integers(0, 365 * 1440),
       early_ago=st.integers(8 * 1440, 16 * 1440), recent_ago=st.integers(0, 30 * 60),
       used_after=st.integers(0, 9 * 1440))
def test_r9_and_r23_agree_with_the_oracle_across_zones(zone, start_minutes, early_ago, recent_ago, used_after):
    reference = START + timedelta(minutes=start_minutes)
    early, recent = reference - timedelta(minutes=early_ago), reference - timedelta(minutes=recent_ago)
    tests = (pregnancy_test(early), replace(pregnancy_test(recent), id="test-recent"))
    records = case("adult_frp", "authorize", patient=patient("adult_frp", time_zone=zone), tests=tests,
                   ppafs=(ppaf("adult_frp", reference - timedelta(days=40)),),
                   patient_surveys=(survey(reference - timedelta(minutes=30)),))
    expected = set()
    if not 10 <= (o_date(reference, zone) - o_date(early, zone)).days <= 14:
        expected.add("R9_EARLY_TEST_MISSING")
    if reference - recent > timedelta(hours=24):
        expected.add("R9_RECENT_TEST_MISSING")
    decision = gate.evaluate("authorize", records, program(), reference)
    assert {f.code for f in decision.failures if f.code.startswith(WATCHED)} == expected
    if not decision.allowed:
        return
    valid_to = o_midnight(o_date(recent, zone) + timedelta(days=FRP_VALID_DAYS), zone) - timedelta(microseconds=1)
    expires_at, test_id = gate.authorization_expiry(records, program(), reference)
    assert (expires_at, test_id) == (valid_to, "test-recent")
    used = reference + timedelta(minutes=used_after)
    assert records.prescription is not None
    confirm = replace(records, prescription=replace(
        records.prescription, state="authorized", number="POM-1", authorized_at=reference,
        expires_at=expires_at, qualifying_test_id=test_id))
    got = {f.code for f in gate.evaluate("confirm", confirm, program(), used).failures}
    assert got == ({"R23_AUTHORIZATION_EXPIRED"} if used > valid_to else set())


def test_the_oracle_itself_reads_the_rules_on_known_cases():
    """A few hand-checked answers, so a broken oracle cannot agree with a broken gate."""
    t = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert o_on_hand([(t, 28)], t + timedelta(days=21), "UTC") == 7
    assert o_on_hand([(t, 28)], t + timedelta(days=21) - timedelta(seconds=1), "UTC") == 8
    assert o_on_hand([(t, 7)] * 2, t + timedelta(minutes=10), "UTC") == 14
    assert o_eighteenth(date(2008, 2, 29)) == date(2026, 3, 1)
    assert o_category("male", date(2008, 3, 3), datetime(2026, 3, 2, 11, 0, tzinfo=UTC), "Pacific/Auckland",
                      False) == "adult_male"
    assert not o_survey_ok("adult_male", [t], [(t + timedelta(hours=1), 28)], t + timedelta(days=2), "UTC")
    assert o_survey_ok("adult_male", [], [], t, "UTC")
    assert datetime.combine(date(2026, 3, 8), time(0), tzinfo=UTC) == o_midnight(date(2026, 3, 8), "UTC")
