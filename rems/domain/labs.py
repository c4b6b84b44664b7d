"""The lab-test kind (issue 17 item 1; T1, T2): initial results, a cadence by phase, hold and stop
by ULN multiples or absolute limits, advisory monitoring. Pure: no I/O, no clock.

Every analyte a rule lists needs its own result (ALT and AST both). Dates are the patient's (T1);
"at most N days" counts calendar days between local dates (T2). A result counts when it is of a
listed analyte, collected in an accepted setting at or before `reference`, in the rule's unit when
the rule has one, and carries the ULN a ULN multiple needs. An advisory rule's requirements are
all met; each message says, from "advisory:", what an enforced rule would refuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from rems.domain.calendar import local_date
from rems.domain.model import LabResult
from rems.domain.requirements import Requirement, need
from rems.domain.schedule import Supplied
from workflows.labs import ABOVE, LabRule, Threshold

LAB_INITIAL_MISSING = "LAB_INITIAL_MISSING"  # no acceptable result in the window before the first Rx
LAB_OVERDUE = "LAB_OVERDUE"  # in treatment: the latest result is older than the cadence allows
LAB_HOLD = "LAB_HOLD"  # a result beyond the hold threshold, no acceptable one since
LAB_STOP = "LAB_STOP"  # a result beyond a stop threshold: therapy stops
ADVISORY = "advisory: "


def _uln_needed(rule: LabRule, analyte: str) -> bool:
    thresholds = [*(rule.hold.when if rule.hold else ()), *rule.stop]
    listed = analyte in rule.analytes and rule.acceptance.max_uln_multiple is not None
    return listed or any(t.uln_based and analyte in t.analytes for t in thresholds)


def _counts(rule: LabRule, result: LabResult, reference: datetime) -> bool:
    return (result.collected_at <= reference and result.setting in rule.settings
            and (rule.unit is None or result.unit == rule.unit)
            and (result.upper_limit_normal is not None or not _uln_needed(rule, result.analyte)))


def beyond(threshold: Threshold, result: LabResult) -> bool:
    """Is the result past the threshold (its ULN multiple, or the absolute value)?"""
    if result.analyte not in threshold.analytes:
        return False
    base = threshold.limit
    if threshold.uln_based:
        if result.upper_limit_normal is None:
            return False  # such a result does not count (`_counts`)
        base = threshold.limit * result.upper_limit_normal
    value, kind = result.value, threshold.comparison
    if kind in ABOVE:
        return value >= base if kind.startswith("at_or_") else value > base
    return value <= base if kind.startswith("at_or_") else value < base


def acceptable(rule: LabRule, result: LabResult) -> bool:
    """Every clause of the rule's acceptance holds for this result."""
    a, value = rule.acceptance, result.value
    if a.max_uln_multiple is not None and (result.upper_limit_normal is None
                                           or value > a.max_uln_multiple * result.upper_limit_normal):
        return False
    if a.max_value is not None and value > a.max_value:
        return False
    if a.min_value is not None and value < a.min_value:
        return False
    return not a.at_least_lower_limit or (result.lower_limit is not None and value >= result.lower_limit)


@dataclass(frozen=True)
class _History:
    rule: LabRule
    by_analyte: dict[str, list[LabResult]]  # counted results, in collection order

    def latest(self, analyte: str) -> LabResult | None:
        found = self.by_analyte.get(analyte)
        return found[-1] if found else None

    def held(self) -> list[tuple[Threshold, LabResult]]:
        """Hold thresholds passed by a result with no acceptable result of its analyte since."""
        if self.rule.hold is None:
            return []
        found = []
        for threshold in self.rule.hold.when:
            for analyte in threshold.analytes:
                results = self.by_analyte.get(analyte, [])
                past = [i for i, r in enumerate(results) if beyond(threshold, r)]
                if past and not any(acceptable(self.rule, r) for r in results[past[-1] + 1:]):
                    found.append((threshold, results[past[-1]]))
        return found

    def stopped(self) -> list[tuple[Threshold, LabResult]]:
        return [(t, r) for t in self.rule.stop for a in t.analytes for r in self.by_analyte.get(a, [])
                if beyond(t, r)]


def _history(rule: LabRule, results: Sequence[LabResult], reference: datetime) -> _History:
    by: dict[str, list[LabResult]] = {}
    for result in sorted((r for r in results if _counts(rule, r, reference)), key=lambda r: r.collected_at):
        by.setdefault(result.analyte, []).append(result)
    return _History(rule, by)


def _interval(rule: LabRule, held: bool, treatment_day: int) -> int:
    """The cadence's interval, shortened while a monitoring hold is in force."""
    interval = rule.interval_on(treatment_day)
    if held and rule.hold and rule.hold.action == "monitor" and rule.hold.every_days:
        interval = min(interval, rule.hold.every_days)
    return interval


def _limit_text(t: Threshold) -> str:
    words = t.comparison.removesuffix("_uln_multiple").replace("_", " ")
    return f"{words} {t.limit}x ULN" if t.uln_based else f"{words} {t.limit}"


def _initial(rule: LabRule, rule_id: str, history: _History, analyte: str, today: date,
             tz: str) -> Requirement:
    latest = history.latest(analyte)
    days = (today - local_date(latest.collected_at, tz)).days if latest else None
    ok = latest is not None and days is not None and days <= rule.initial_window_days and acceptable(rule, latest)
    message = (f"{analyte}: an acceptable result collected at most {rule.initial_window_days} days before "
               "the first prescription" + ("" if latest is None else
                                           f" (latest collected {days} days ago"
                                           f"{'' if acceptable(rule, latest) else ', not acceptable'})"))
    return need(ok, rule_id, LAB_INITIAL_MISSING, message, f"record an acceptable {analyte} result",
                f"a new {analyte} result")


def _cadence(rule: LabRule, rule_id: str, history: _History, analyte: str, today: date, start: date,
             tz: str) -> Requirement:
    interval = _interval(rule, bool(history.held()), (today - start).days)
    latest = history.latest(analyte)
    if latest is None:
        return need(False, rule_id, LAB_OVERDUE, f"{analyte}: no result (one at least every {interval} days)",
                    f"record a {analyte} result", f"a new {analyte} result")
    collected = local_date(latest.collected_at, tz)
    ok = (today - collected).days <= interval
    message = (f"{analyte}: a result at least every {interval} days; the latest was collected on "
               f"{collected.isoformat()}" + ("" if ok else f", due by {(collected + timedelta(interval)).isoformat()}"))
    return need(ok, rule_id, LAB_OVERDUE, message, f"record a new {analyte} result", f"a new {analyte} result")


def _hold(rule: LabRule, rule_id: str, history: _History, tz: str) -> Requirement | None:
    if rule.hold is None:
        return None
    held = history.held()
    monitor = rule.hold.action == "monitor"
    if not held:
        return need(True, rule_id, LAB_HOLD, "no result beyond the hold threshold without a normal one since",
                    "")
    threshold, result = held[0]
    when = local_date(result.collected_at, tz).isoformat()
    what = f"{result.analyte} of {when} {_limit_text(threshold)}"
    if monitor:
        return need(True, rule_id, LAB_HOLD, f"{what}: monitoring at least every {rule.hold.every_days} days "
                    "until an acceptable result", "")
    return need(False, rule_id, LAB_HOLD, f"{what}: on hold until an acceptable {result.analyte} result",
                f"record an acceptable {result.analyte} result", f"an acceptable {result.analyte} result")


def _stop(rule: LabRule, rule_id: str, history: _History, tz: str) -> Requirement | None:
    if not rule.stop:
        return None
    stopped = history.stopped()
    if not stopped:
        return need(True, rule_id, LAB_STOP, "no result beyond a stop threshold", "")
    threshold, result = stopped[0]
    when = local_date(result.collected_at, tz).isoformat()
    return need(False, rule_id, LAB_STOP, f"{result.analyte} of {when} {_limit_text(threshold)}: therapy stops",
                "therapy is stopped; only a decision recorded after it may resume it",
                "only after a recorded decision to resume therapy")


def _advisory(requirement: Requirement) -> Requirement:
    prefix = "" if requirement.met else "not met, not enforced: "
    return Requirement(requirement.rule, requirement.code, True, ADVISORY + prefix + requirement.message,
                       requirement.remedy, None)


def treatment_start_of(dispenses: Sequence[Supplied]) -> datetime | None:
    """A suggestion for the integrator: treatment starts at the person's first dispense in the
    program (None before it: the initial window applies up to the first dispense)."""
    return min((d.dispensed_at for d in dispenses), default=None)


def lab_requirements(rule: LabRule, rule_id: str, fda_code: str | None, results: Sequence[LabResult],
                     treatment_start: datetime | None, reference: datetime, tz: str) -> list[Requirement]:
    """Each listed analyte's initial (before treatment starts) or cadence requirement, then the hold
    and the stop (when the rule has them), each citing `rule_id`. `fda_code` is the requirement's
    REMS code (C128494 value set), for Requirement.fda_code once the core adds that field."""
    del fda_code  # the integrator passes it to Requirement (rems/domain/requirements.py) at merge
    history = _history(rule, results, reference)
    today = local_date(reference, tz)
    found: list[Requirement] = []
    for analyte in rule.analytes:
        if treatment_start is None:
            found.append(_initial(rule, rule_id, history, analyte, today, tz))
        else:
            found.append(_cadence(rule, rule_id, history, analyte, today, local_date(treatment_start, tz), tz))
    found += [r for r in (_hold(rule, rule_id, history, tz), _stop(rule, rule_id, history, tz)) if r]
    return [_advisory(r) for r in found] if rule.advisory else found


def next_lab_due(rule: LabRule, results: Sequence[LabResult], treatment_start: datetime | None,
                 reference: datetime, tz: str) -> date:
    """The last local date on which every listed analyte's latest result is still current: before
    treatment, still inside the initial window; in treatment, within the cadence (shortened while
    a monitoring hold is in force). The reference's date when an analyte has no usable result."""
    history = _history(rule, results, reference)
    today = local_date(reference, tz)
    due: list[date] = []
    for analyte in rule.analytes:
        latest = history.latest(analyte)
        if latest is None:
            due.append(today)
            continue
        collected = local_date(latest.collected_at, tz)
        if treatment_start is None:
            due.append(collected + timedelta(rule.initial_window_days) if acceptable(rule, latest) else today)
            continue
        start, held = local_date(treatment_start, tz), bool(history.held())
        day = collected
        while (day + timedelta(1) - collected).days <= _interval(rule, held, (day + timedelta(1) - start).days):
            day += timedelta(1)
        due.append(day)
    return min(due)
