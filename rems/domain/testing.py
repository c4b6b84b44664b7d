"""Pregnancy-test windows for FRP: R9 (initial pair), R10 (sensitivity), R11 (cadence), R23 (the
validity an FRP test gives), R30/R34 (nothing before a positive test or a readmission qualifies).

Calendar counts (R9's "10 to 14 days before", R23's day 7) are between local dates on the
patient's zone `tz` (T1, T2); "within 24 hours" and R11's cadence are elapsed time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rems.domain.calendar import calendar_days, day_end, day_start, local_date
from rems.domain.catalogue import (
    R9_EARLY_TEST_MISSING,
    R9_RECENT_TEST_MISSING,
    R10_TEST_NOT_ACCEPTABLE,
    R11_TEST_OVERDUE,
    R23_TEST_TOO_OLD_TO_AUTHORIZE,
)
from rems.domain.categories import FRP_CATEGORIES
from rems.domain.model import Dispense, Ppaf, PregnancyTest
from rems.domain.requirements import Requirement, need
from workflows.program import Parameters

AFTER_NEW_TEST = "after a new negative pregnancy test"


def acceptable(test: PregnancyTest, params: Parameters) -> bool:
    """R10: a negative result of adequate sensitivity; a home test only if the prescriber accepts.

    A test's sensitivity is the lowest hCG concentration it detects: "at least 50 mIU/mL" means a
    threshold of 50 mIU/mL or lower (a 25 mIU/mL test is more sensitive; a 500 mIU/mL one is blind
    to early pregnancy)."""
    if test.result != "negative" or test.sensitivity_miu_per_ml > params.test_detection_threshold_miu_per_ml:
        return False
    return test.setting != "home" or (params.home_tests_allowed and test.home_test_accepted)


def cutoff(tests: Sequence[PregnancyTest], readmitted_at: datetime | None) -> datetime | None:
    """R30, R34: a test collected at or before the latest positive test, or before the person's
    readmission, never qualifies."""
    marks = [t.collected_at for t in tests if t.result == "positive"]
    marks += [readmitted_at - timedelta(microseconds=1)] if readmitted_at is not None else []
    return max(marks, default=None)


def frp_valid_until(collected_at: datetime, params: Parameters, tz: str) -> datetime:
    """R23 (T2): an FRP authorization is valid to the end of day N on the patient's calendar,
    the collection date being day 1."""
    last_day = local_date(collected_at, tz) + timedelta(days=params.frp_authorization_valid_days - 1)
    return day_end(last_day, tz)


def frp_since(ppafs: Sequence[Ppaf]) -> datetime | None:
    """Start of the current unbroken run of FRP PPAFs (child FRP turning adult FRP stays FRP)."""
    start = None
    for ppaf in sorted(ppafs, key=lambda p: p.signed_at):
        start = (start or ppaf.signed_at) if ppaf.category in FRP_CATEGORIES else None
    return start


def treatment_start(ppafs: Sequence[Ppaf], dispenses: Sequence[Dispense]) -> datetime | None:
    """First dispense since the patient became FRP: before it the initial pair applies (R9)."""
    since = frp_since(ppafs)
    if since is None:
        return None
    starts = [d.dispensed_at for d in dispenses if d.dispensed_at >= since]
    return min(starts) if starts else None


def cadence(start: datetime, at: datetime, cycles_regular: bool, params: Parameters) -> timedelta:
    """R11: weekly for the first weeks of treatment, then every 4 weeks (regular) or 2 (irregular)."""
    if at < start + timedelta(weeks=params.weekly_test_weeks):
        return timedelta(days=params.weekly_test_interval_days)
    days = params.regular_cycle_test_interval_days if cycles_regular \
        else params.irregular_cycle_test_interval_days
    return timedelta(days=days)


@dataclass(frozen=True)
class TestWindow:
    requirements: tuple[Requirement, ...]
    qualifying: PregnancyTest | None  # the test R23 counts an FRP authorization from


def _initial_pair(good: list[PregnancyTest], reference: datetime, params: Parameters,
                  tz: str) -> tuple[list[Requirement], PregnancyTest | None]:
    """R9 (T2): the first test on a local date 10 to 14 days before the prescription's date, the
    second within 24 hours (elapsed) before it."""
    recent_window = timedelta(hours=params.initial_test_recent_hours)
    lo, hi = params.initial_test_early_min_days, params.initial_test_early_max_days
    recent = [t for t in good if reference - t.collected_at <= recent_window]
    early = [t for t in good if lo <= calendar_days(t.collected_at, reference, tz) <= hi]
    young = [t for t in good if calendar_days(t.collected_at, reference, tz) < lo]
    ripens = min((day_start(local_date(t.collected_at, tz) + timedelta(days=lo), tz) for t in young),
                 default=None)
    reqs = [
        need(bool(early), "R9", R9_EARLY_TEST_MISSING,
             f"first negative pregnancy test {lo}-{hi} days before the prescription",
             f"record a negative test collected {lo} to {hi} days before the prescription",
             ripens or f"{lo} days after a new negative pregnancy test"),
        need(bool(recent), "R9", R9_RECENT_TEST_MISSING,
             f"second negative pregnancy test within {params.initial_test_recent_hours} h "
             "before the prescription",
             f"record a negative test collected within the last {params.initial_test_recent_hours} hours",
             AFTER_NEW_TEST),
    ]
    return reqs, (recent[-1] if recent and early else None)


def evaluate_tests(tests: Sequence[PregnancyTest], ppafs: Sequence[Ppaf],
                   dispenses: Sequence[Dispense], cycles_regular: bool, reference: datetime,
                   params: Parameters, tz: str, readmitted_at: datetime | None = None) -> TestWindow:
    """Is there a negative test inside the window that applies at `reference` (the prescription)?"""
    floor = cutoff(tests, readmitted_at)
    before = [t for t in tests if t.collected_at <= reference and (floor is None or t.collected_at > floor)]
    good = sorted((t for t in before if acceptable(t, params)), key=lambda t: t.collected_at)
    weak = [t for t in before if t.result == "negative" and not acceptable(t, params)]
    start = treatment_start(ppafs, dispenses)
    reqs: list[Requirement]
    if start is None or start > reference:
        reqs, qualifying = _initial_pair(good, reference, params, tz)
    else:
        interval = cadence(start, reference, cycles_regular, params)
        in_window = [t for t in good if reference - t.collected_at <= interval]
        reqs = [need(bool(in_window), "R11", R11_TEST_OVERDUE,
                     f"a negative pregnancy test within {interval.days} days before the prescription",
                     f"record a negative test collected within the last {interval.days} days",
                     AFTER_NEW_TEST)]
        qualifying = in_window[-1] if in_window else None
        # R23: an FRP authorization runs from its qualifying test, so a test the cadence still
        # accepts may already be too old to authorize on; never issue one born expired.
        valid = params.frp_authorization_valid_days
        if qualifying is not None and reference > frp_valid_until(qualifying.collected_at, params, tz):
            reqs.append(need(False, "R23", R23_TEST_TOO_OLD_TO_AUTHORIZE,
                             f"a negative pregnancy test collected within the last {valid} days of the "
                             "patient's calendar (an FRP authorization is valid that long from its test)",
                             f"record a negative test collected within the last {valid} days",
                             AFTER_NEW_TEST))
            qualifying = None
    if weak and qualifying is None:
        reqs.append(need(False, "R10", R10_TEST_NOT_ACCEPTABLE,
                         f"a test that cannot detect {params.test_detection_threshold_miu_per_ml} mIU/mL, or a home "
                         "test the prescriber did not accept, does not count",
                         "repeat the test with an adequately sensitive test", AFTER_NEW_TEST))
    return TestWindow(tuple(reqs), qualifying)


def next_test_due(tests: Sequence[PregnancyTest], ppafs: Sequence[Ppaf],
                  dispenses: Sequence[Dispense], cycles_regular: bool,
                  params: Parameters, readmitted_at: datetime | None = None) -> datetime | None:
    """When the next test is due under R11 (None before treatment: R9 is relative to the Rx).
    Every recorded test counts, whatever its time (issue 13, item 8)."""
    start = treatment_start(ppafs, dispenses)
    floor = cutoff(tests, readmitted_at)
    good = [t.collected_at for t in tests if acceptable(t, params) and (floor is None or t.collected_at > floor)]
    if start is None or not good:
        return None
    last = max(good)
    return last + cadence(start, last, cycles_regular, params)
