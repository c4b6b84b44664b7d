"""Every derived date, in one place (issue 13 item 7): parameters in force (T3), the patient's
calendar (T1), supply on hand and the refill window (R28), the survey due (R20), an
authorization's and a confirmation's expiry (R23, R27, T3), the next test (R11) and the next
category change (R8). The gate, the status page, the reminders and the reports all read these."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from rems.domain.calendar import calendar_days, day_end, day_start, local_date, zone, zone_of
from rems.domain.catalogue import OPEN_PRESCRIPTION_STATES
from rems.domain.categories import FRP_CATEGORIES, category_of, next_category_change
from rems.domain.model import Confirmation, Patient, PregnancyTest, Prescription
from rems.domain.testing import frp_valid_until, next_test_due
from workflows.program import Parameters, Program, SurveyRule

DAY = timedelta(days=1)
OPEN_STATES = OPEN_PRESCRIPTION_STATES  # R36
# R20: every category's survey is "one for each prescription" except adult FNRP (every 6 months).
INTERVAL_ONLY_CATEGORIES = frozenset({"adult_fnrp"})
# R20: a survey is needed and none counts (the gate refuses from any time on).
OVERDUE = datetime.min.replace(tzinfo=UTC)


class Supplied(Protocol):  # a Dispense, or a row read like one
    @property
    def dispensed_at(self) -> datetime: ...
    @property
    def days_supply(self) -> int: ...


class Completed(Protocol):  # a PatientSurvey, or a row read like one
    @property
    def completed_at(self) -> datetime: ...


@dataclass(frozen=True)
class Today:
    """What every part of one decision shares: today's parameters (T3), the patient's zone and
    category (T1), and the moment."""

    params: Parameters
    tz: str
    category: str
    now: datetime


def params_at(program: Program, now: datetime) -> Parameters:
    """T3: the parameters in force; effective dates start at midnight in the program's zone."""
    return program.at(local_date(now, program.time_zone))


def patient_tz(patient: Patient, program: Program) -> str:
    return zone_of(patient, program.time_zone)


def today(patient: Patient, program: Program, now: datetime) -> date:
    """T1: the date on the patient's calendar."""
    return local_date(now, patient_tz(patient, program))


def current_category(patient: Patient, program: Program, now: datetime) -> str:
    """R5a, R8: the category the patient's facts give on their local date."""
    return category_of(patient, today(patient, program, now), params_at(program, now))


def category_change(patient: Patient, program: Program, now: datetime) -> datetime | None:
    """R8: the first instant (local midnight) of the next self-made category change."""
    day = next_category_change(patient, today(patient, program, now), params_at(program, now))
    return None if day is None else day_start(day, patient_tz(patient, program))


# R11: the next pregnancy test (elapsed cadence from the latest acceptable test)
test_due = next_test_due


# R28: supply on hand


def days_used(dispensed_at: datetime, now: datetime, tz: str) -> int:
    """R28 "whole days since it": a day counts only once a full 24 hours have passed AND the local
    calendar has turned, so on hand is never under-counted under either reading (a dispense at
    23:59 has used no day at 00:01; a 25-hour DST day is still one day). A dispense stamped after
    `now` has used none."""
    if now <= dispensed_at:
        return 0
    return max(0, min((now - dispensed_at) // DAY, calendar_days(dispensed_at, now, tz)))


def on_hand(dispenses: Sequence[Supplied], now: datetime, tz: str) -> int:
    """R28: days of supply left from every dispense given, added up (each at least 0)."""
    return sum(max(0, d.days_supply - days_used(d.dispensed_at, now, tz)) for d in dispenses)


def _day_used_at(dispensed_at: datetime, k: int, tz: str, start: date | None = None) -> datetime:
    """The instant from which `days_used` reaches k (`start`: the dispense's local date, if known)."""
    start = local_date(dispensed_at, tz) if start is None else start
    return max(dispensed_at + k * DAY, day_start(start + k * DAY, tz))


def refill_opens(dispenses: Sequence[Supplied], window_days: int, tz: str) -> datetime | None:
    """R28: the earliest instant the supply on hand falls to `window_days` (None: no dispense).
    On hand only falls with time, and only at the steps where a dispense uses up one more day, so
    the answer is the first such step at which it is low enough: for each dispense, the first of
    its own steps that is (a search over its days), and the earliest of those."""
    if not dispenses:
        return None
    latest = max(d.dispensed_at for d in dispenses)
    if sum(d.days_supply for d in dispenses) <= window_days:
        return latest
    # on_hand(dispenses, at, tz), with each dispense's local date read once per call and the
    # instant's once per probe (it is probed O(n log supply) times): the same sum, term by term.
    z = zone(tz)
    held = [(d.dispensed_at, d.days_supply, d.dispensed_at.astimezone(z).date()) for d in dispenses]

    def left(at: datetime) -> int:
        on_day, total = at.astimezone(z).date(), 0
        for when, supply, start in held:
            used = 0 if at <= when else max(0, min((at - when) // DAY, (on_day - start).days))
            total += max(0, supply - used)
        return total

    firsts = []
    for when, supply, start in held:
        lo, hi = 1, supply
        if hi < lo or left(_day_used_at(when, hi, tz, start)) > window_days:
            continue  # even its last step leaves too much on hand: another dispense's step comes first
        while lo < hi:
            mid = (lo + hi) // 2
            if left(_day_used_at(when, mid, tz, start)) <= window_days:
                hi = mid
            else:
                lo = mid + 1
        firsts.append(_day_used_at(when, lo, tz, start))
    return min(firsts)


# R20: the patient survey


def survey_valid_until(rule: SurveyRule, category: str, surveys: Sequence[Completed],
                       dispenses: Sequence[Supplied], tz: str) -> datetime | None:
    """R20: the last instant the surveys on record satisfy the rule for the next prescription;
    None when none is needed (a category with none before its first prescription, before it),
    OVERDUE when one is needed and none counts. "Monthly" is one survey per prescription: it
    must be completed after the previous dispense, within the interval (calendar days, T1)."""
    previous = max((d.dispensed_at for d in dispenses), default=None)
    if previous is None and not rule.before_first:
        return None
    per_prescription = category not in INTERVAL_ONLY_CATEGORIES
    counted = [s.completed_at for s in surveys
               if not (per_prescription and previous is not None and s.completed_at <= previous)]
    if not counted:
        return OVERDUE
    return day_end(local_date(max(counted), tz) + timedelta(days=rule.interval_days), tz)


def survey_due(rule: SurveyRule, category: str, surveys: Sequence[Completed],
               dispenses: Sequence[Supplied], tz: str, window_days: int,
               opens: Callable[[], datetime | None] | None = None) -> datetime | None:
    """R20 for people (status page, reminders): the instant by which a survey is needed for the
    next prescription. While the last survey counts, the end of its interval; once a dispense
    follows it, the day the next one can be dispensed (R28's window), since "monthly" is one
    survey per prescription; OVERDUE when one is needed and there is no date to wait for (a
    first prescription); None when none is needed. `opens`: refill_opens(dispenses, window_days,
    tz) when the caller already has it (the reminder sweep computes it once per patient)."""
    until = survey_valid_until(rule, category, surveys, dispenses, tz)
    if until != OVERDUE or not dispenses:
        return until
    return refill_opens(dispenses, window_days, tz) if opens is None else opens()


# R23, R27, T3: expiries


def authorization_expiry(category: str, issued_at: datetime, test: PregnancyTest | None,
                         params: Parameters, tz: str) -> datetime:
    """R23: an authorization issued on a qualifying pregnancy test (FRP, where the program tests)
    to the end of day N from the test's collection date (T2); everyone else N days from issue."""
    if test is not None:
        return frp_valid_until(test.collected_at, params, tz)
    return issued_at + timedelta(days=params.authorization_valid_days)


def effective_expiry(rx: Prescription, tests: Sequence[PregnancyTest], params: Parameters,
                     tz: str) -> datetime | None:
    """T3: the stored expiry is an upper bound; today's parameters may give an earlier one."""
    candidates = [rx.expires_at] if rx.expires_at is not None else []
    test = next((t for t in tests if t.id == rx.qualifying_test_id), None)
    if rx.authorized_at is not None and (rx.category not in FRP_CATEGORIES or test is not None):
        candidates.append(authorization_expiry(rx.category, rx.authorized_at, test, params, tz))
    return min(candidates, default=None)


def confirmation_expiry(c: Confirmation, params: Parameters) -> datetime:
    """R27, T3: the stored expiry, or today's validity from issue if that is shorter."""
    return min(c.expires_at, c.issued_at + timedelta(hours=params.confirmation_valid_hours))


def is_open(rx: Prescription, tests: Sequence[PregnancyTest], params: Parameters, tz: str,
            now: datetime) -> bool:
    """R36: requested, authorized or confirmed, and not past its (effective) expiry."""
    if rx.state not in OPEN_STATES:
        return False
    expiry = effective_expiry(rx, tests, params, tz)
    return expiry is None or now <= expiry
