"""T4: the safety bounds of program parameters, and the deviations a program file may declare.

A value outside its bound would switch a safeguard off (a refill window as long as the supply, an
authorization valid for months, a test that misses 100 mIU/mL...). The loader (workflows.program)
refuses it unless the file names the parameter in its `[deviations]` table with a reason; then it
loads and the loader logs a warning naming the file, the block, the parameter, the value and the
reason. Pure data and arithmetic: no I/O here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workflows.program import Parameters

@dataclass(frozen=True)
class Bound:
    """The values of one parameter that keep rule `rule` on: low <= value <= high."""

    rule: str
    low: int
    high: int
    why: str


# One row per number of a [[parameters]] block: the rule it protects and the values that keep it on.
BOUNDS: dict[str, Bound] = {
    "child_age_years": Bound("R6", 18, 21, "younger: a child signs her own PPAF and surveys"),
    "postmenopause_months": Bound("R7", 24, 120, "fewer: a woman who may still conceive counts as FNRP"),
    "postmenopause_min_age_years": Bound("R35", 10, 40,
                                         "younger: an implausible menopause date exempts a girl from testing"),
    "initial_test_early_min_days": Bound("R9", 10, 14, "fewer: the two initial tests may be days apart"),
    "initial_test_early_max_days": Bound("R9", 10, 14, "more: a stale first test qualifies"),
    "initial_test_recent_hours": Bound("R9", 1, 24, "more: the second test is not recent"),
    "test_detection_threshold_miu_per_ml": Bound("R10", 1, 50, "more: a test that misses an early pregnancy counts"),
    "weekly_test_interval_days": Bound("R11", 1, 7, "more: the first month is not tested weekly"),
    "weekly_test_weeks": Bound("R11", 4, 52, "fewer: monthly testing starts before 4 weekly tests"),
    "regular_cycle_test_interval_days": Bound("R11", 1, 28, "more: tests further apart than 4 weeks"),
    "irregular_cycle_test_interval_days": Bound("R11", 1, 14, "more: irregular cycles tested less than every 2 weeks"),
    "contraception_before_days": Bound("R15", 28, 365, "fewer: contraception starts too late"),
    "contraception_after_days": Bound("R15", 28, 365, "fewer: contraception stops too early"),
    "male_condom_after_days": Bound("R16", 28, 365, "fewer: condom use stops too early"),
    "blood_donation_after_days": Bound("R18", 28, 365, "fewer: blood donated with drug in it"),
    "frp_authorization_valid_days": Bound("R23", 1, 7, "more: a test older than a week authorizes a fill"),
    "authorization_valid_days": Bound("R23", 1, 30, "more: an authorization outlives its month"),
    "max_supply_days": Bound("R24", 1, 28, "more: more than 4 weeks between gates"),
    "max_units_per_day": Bound("R24", 1, 8, "more: above the family's highest labelled daily dose"),
    "max_refills": Bound("R24", 0, 0, "more: a refill skips every gate"),
    "confirmation_valid_hours": Bound("R27", 1, 24, "more: a confirmation outlives its day"),
    "refill_window_days": Bound("R28", 1, 7, "more: supply stockpiles"),
    "pharmacy_recertification_days": Bound("R25", 1, 730, "0 or more: a pharmacy never lapses"),
    "prescriber_recertification_days": Bound("R3", 0, 3650, "0 means none (the rule's default)"),
}
# R20: survey intervals per risk category ("monthly" = at most 30 days; adult FNRP every 6 months).
SURVEY_BOUNDS: dict[str, Bound] = {
    category: Bound("R20", 1, 182 if category == "adult_fnrp" else 30, "longer: surveys skipped")
    for category in ("adult_frp", "child_frp", "adult_fnrp", "child_fnrp", "adult_male", "child_male")
}
# R20: only a male's first prescription is exempt from the survey.
SURVEY_BEFORE_FIRST_EXEMPT = ("adult_male", "child_male")
# The names a [deviations] table may use.
DEVIABLE = (*BOUNDS, *(f"survey.{c}.interval_days" for c in SURVEY_BOUNDS),
            *(f"survey.{c}.before_first" for c in SURVEY_BOUNDS if c not in SURVEY_BEFORE_FIRST_EXEMPT))


@dataclass(frozen=True)
class CrossCheck:
    """A relation between two parameters that keeps `rule` on; a breach is reported on `field`."""

    field: str
    rule: str
    holds: Callable[[Parameters], bool]
    reason: str


CROSS_CHECKS: tuple[CrossCheck, ...] = (
    CrossCheck("refill_window_days", "R28", lambda p: p.refill_window_days < p.max_supply_days,
               "must be shorter than max_supply_days (else the window is always open)"),
    CrossCheck("frp_authorization_valid_days", "R23",
               lambda p: p.frp_authorization_valid_days <= p.weekly_test_interval_days,
               "must not exceed weekly_test_interval_days (the shortest R11 test interval)"),
    CrossCheck("irregular_cycle_test_interval_days", "R11",
               lambda p: p.weekly_test_interval_days <= p.irregular_cycle_test_interval_days
               <= p.regular_cycle_test_interval_days,
               "must lie between weekly_test_interval_days and regular_cycle_test_interval_days"),
)


def breaches(p: Parameters) -> list[tuple[str, Any, str]]:
    """Every (parameter, value, reason) of `p` that would switch a safeguard off."""
    found: list[tuple[str, Any, str]] = []
    for name, bound in BOUNDS.items():
        value = getattr(p, name)
        if not bound.low <= value <= bound.high:
            found.append((name, value, f"{bound.rule}: must be {_range(bound)} ({bound.why})"))
    for check in CROSS_CHECKS:
        if not check.holds(p):
            found.append((check.field, getattr(p, check.field), f"{check.rule}: {check.reason}"))
    for category, bound in SURVEY_BOUNDS.items():
        rule = p.survey[category]
        if not bound.low <= rule.interval_days <= bound.high:
            found.append((f"survey.{category}.interval_days", rule.interval_days,
                          f"R20: must be {_range(bound)} ({bound.why})"))
        if category not in SURVEY_BEFORE_FIRST_EXEMPT and not rule.before_first:
            found.append((f"survey.{category}.before_first", False,
                          "R20: must be true (only a male's first prescription is exempt)"))
    return found


def _range(bound: Bound) -> str:
    return f"{bound.low}" if bound.low == bound.high else f"{bound.low} to {bound.high}"
