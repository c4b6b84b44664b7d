"""Pregnancy-test windows for FRP: R9 (initial pair), R10 (sensitivity), R11 (cadence), R30."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rems.domain.categories import FRP_CATEGORIES
from rems.domain.model import Dispense, Ppaf, PregnancyTest
from rems.domain.requirements import Requirement, need
from workflows.program import Parameters


def acceptable(test: PregnancyTest, params: Parameters) -> bool:
    """R10: a negative result of adequate sensitivity; a home test only if the prescriber accepts.

    A test's sensitivity is the lowest hCG concentration it detects: "at least 50 mIU/mL" means a
    threshold of 50 mIU/mL or lower (a 25 mIU/mL test is more sensitive; a 500 mIU/mL one is blind
    to early pregnancy)."""
    if test.result != "negative" or test.sensitivity_miu_per_ml > params.test_detection_threshold_miu_per_ml:
        return False
    return test.setting != "home" or (params.home_tests_allowed and test.home_test_accepted)


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


def evaluate_tests(tests: Sequence[PregnancyTest], ppafs: Sequence[Ppaf],
                   dispenses: Sequence[Dispense], cycles_regular: bool, reference: datetime,
                   params: Parameters) -> TestWindow:
    """Is there a negative test inside the window that applies at `reference` (the prescription)?"""
    before = [t for t in tests if t.collected_at <= reference]
    good = sorted((t for t in before if acceptable(t, params)), key=lambda t: t.collected_at)
    weak = [t for t in before if t.result == "negative" and not acceptable(t, params)]
    start = treatment_start(ppafs, dispenses)
    reqs: list[Requirement] = []
    if start is None or start > reference:
        recent_window = timedelta(hours=params.initial_test_recent_hours)
        lo, hi = params.initial_test_early_min_days, params.initial_test_early_max_days
        recent = [t for t in good if reference - t.collected_at <= recent_window]
        early = [t for t in good if lo <= (reference - t.collected_at).days <= hi]
        reqs.append(need(bool(early), "R9", "R9_EARLY_TEST_MISSING",
                         f"first negative pregnancy test {lo}-{hi} days before the prescription",
                         f"record a negative test collected {lo} to {hi} days before the prescription"))
        reqs.append(need(bool(recent), "R9", "R9_RECENT_TEST_MISSING",
                         f"second negative pregnancy test within {params.initial_test_recent_hours} h "
                         "before the prescription",
                         "record a negative test collected within the last "
                         f"{params.initial_test_recent_hours} hours"))
        qualifying = recent[-1] if recent and early else None
    else:
        interval = cadence(start, reference, cycles_regular, params)
        in_window = [t for t in good if reference - t.collected_at <= interval]
        reqs.append(need(bool(in_window), "R11", "R11_TEST_OVERDUE",
                         f"a negative pregnancy test within {interval.days} days before the prescription",
                         f"record a negative test collected within the last {interval.days} days"))
        qualifying = in_window[-1] if in_window else None
        # R23: an FRP authorization runs from its qualifying test, so a test the cadence still
        # accepts may already be too old to authorize on; never issue one born expired.
        valid = timedelta(days=params.frp_authorization_valid_days)
        if qualifying is not None and reference - qualifying.collected_at >= valid:
            reqs.append(need(False, "R23", "R23_TEST_TOO_OLD_TO_AUTHORIZE",
                             f"a negative pregnancy test less than {valid.days} days old "
                             "(an FRP authorization is valid that long from its test)",
                             f"record a negative test collected within the last {valid.days} days"))
            qualifying = None
    if weak and qualifying is None:
        reqs.append(need(False, "R10", "R10_TEST_NOT_ACCEPTABLE",
                         f"a test that cannot detect {params.test_detection_threshold_miu_per_ml} mIU/mL, or a home "
                         "test the prescriber did not accept, does not count",
                         "repeat the test with an adequately sensitive test"))
    return TestWindow(tuple(reqs), qualifying)


def next_test_due(tests: Sequence[PregnancyTest], ppafs: Sequence[Ppaf],
                  dispenses: Sequence[Dispense], cycles_regular: bool, now: datetime,
                  params: Parameters) -> datetime | None:
    """When the next test is due under R11 (None before treatment: R9 is relative to the Rx)."""
    start = treatment_start(ppafs, dispenses)
    good = [t.collected_at for t in tests if acceptable(t, params) and t.collected_at <= now]
    if start is None or not good:
        return None
    last = max(good)
    return last + cadence(start, last, cycles_regular, params)
