"""The lab-test requirement kind for analytes other than hCG (issue 17 item 1): ALT/AST liver
tests (bosentan REMS), ANC monitoring (clozapine REMS, advisory), as data (docs/lab-tests.md).

`parse_lab_rule` validates a `[[requirements]]` block's kind-specific fields and names the first
bad one (unknown, wrong type, inconsistent cadence or thresholds); every number comes from the
program file, none from here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from workflows.program import ProgramError

# The analytes a lab result may carry; hCG is the pregnancy-test kind's (R9-R12), not this one's.
ANALYTES = ("ALT", "AST", "ANC", "bilirubin")
# Analytes judged against the upper limit of normal of their own result: a result is recorded with it.
ULN_ANALYTES = frozenset({"ALT", "AST", "bilirubin"})
SETTINGS = ("lab", "office", "home")
HOLD_ACTIONS = ("monitor", "block_until_normal")
# A threshold's comparison: "..._uln_multiple" against k x the result's own ULN, the others
# against an absolute value in the rule's `unit`.
COMPARISONS = ("above_uln_multiple", "at_or_above_uln_multiple", "above", "at_or_above", "below",
               "at_or_below")
ABOVE = frozenset({"above_uln_multiple", "at_or_above_uln_multiple", "above", "at_or_above"})
# The requirement block's common keys (the core's parser reads them); ignored here if passed.
COMMON = frozenset({"kind", "id", "rule", "fda_code", "applies_to", "stages", "effective_from", "until"})
_FIELDS = frozenset({"analytes", "settings", "unit", "initial_window_days", "cadence", "acceptance",
                     "hold", "stop", "advisory"})
_ACCEPTANCE = frozenset({"max_uln_multiple", "max_value", "min_value", "at_least_lower_limit"})


@dataclass(frozen=True)
class Phase:
    """A result at least every `every_days` calendar days while the treatment day (day 0: the
    local date treatment started) is below `until_day`; None: to the end of treatment."""

    every_days: int
    until_day: int | None = None


@dataclass(frozen=True)
class Threshold:
    comparison: str  # one of COMPARISONS
    limit: Decimal  # a multiple of the ULN, or a value in LabRule.unit
    analytes: tuple[str, ...]  # the analytes it judges (default: the rule's)

    @property
    def uln_based(self) -> bool:
        return self.comparison.endswith("_uln_multiple")


@dataclass(frozen=True)
class Acceptance:
    """What a qualifying (initial) result must satisfy, and what "normal" releases a
    block_until_normal hold: every clause given holds."""

    max_uln_multiple: Decimal | None = None  # value <= k x that result's ULN
    max_value: Decimal | None = None  # value <= this, in LabRule.unit
    min_value: Decimal | None = None  # value >= this, in LabRule.unit
    at_least_lower_limit: bool = False  # value >= that result's own lower limit


@dataclass(frozen=True)
class Hold:
    """The latest result beyond one of `when`: monitoring at least every `every_days` ("monitor"),
    or refused until a later result is acceptable ("block_until_normal")."""

    action: str
    when: tuple[Threshold, ...]
    every_days: int | None = None


@dataclass(frozen=True)
class LabRule:
    analytes: tuple[str, ...]  # each needs its own result in each window (ALT and AST both)
    initial_window_days: int  # before the first prescription: collected at most this many days before
    cadence: tuple[Phase, ...]
    acceptance: Acceptance
    settings: frozenset[str] = frozenset({"lab"})  # where a result counts
    unit: str | None = None  # required when a value is absolute; results in another unit do not count
    hold: Hold | None = None
    stop: tuple[Threshold, ...] = ()  # any result beyond one stops therapy (not lifted by a later one)
    advisory: bool = False  # evaluated and reported, never refusing (clozapine, eliminated)

    def interval_on(self, treatment_day: int) -> int:
        """The cadence's interval on a treatment day (day 0: the day treatment started)."""
        for phase in self.cadence:
            if phase.until_day is None or treatment_day < phase.until_day:
                return phase.every_days
        return self.cadence[-1].every_days  # unreachable: the last phase is open-ended


def _whole(source: str, field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ProgramError(source, field, "must be a whole number greater than zero")
    return value


def _number(source: str, field: str, value: Any, positive: bool = True) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ProgramError(source, field, "must be a finite number")
    number = Decimal(str(value))  # the file's digits, not a binary float's
    if number < 0 or (positive and number == 0):
        raise ProgramError(source, field, "must be greater than zero" if positive else "must not be negative")
    return number


def _table(source: str, field: str, value: Any, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ProgramError(source, field, "must be a table")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ProgramError(source, f"{field}.{unknown[0]}", "unknown field")
    return value


def _analytes(source: str, field: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(a, str) for a in value):
        raise ProgramError(source, field, "must be a non-empty list of analyte names")
    for index, analyte in enumerate(value):
        if analyte not in ANALYTES:
            raise ProgramError(source, f"{field}[{index}]", f"unknown analyte; one of {', '.join(ANALYTES)}")
    if len(set(value)) != len(value):
        raise ProgramError(source, field, "lists an analyte twice")
    return tuple(value)


def _cadence(source: str, field: str, value: Any) -> tuple[Phase, ...]:
    if not isinstance(value, list) or not value:
        raise ProgramError(source, field, "must be a non-empty list of phases")
    phases: list[Phase] = []
    for index, raw in enumerate(value):
        where = f"{field}[{index}]"
        block = _table(source, where, raw, frozenset({"every_days", "until_day"}))
        if "every_days" not in block:
            raise ProgramError(source, where + ".every_days", "required")
        until = block.get("until_day")
        last = index == len(value) - 1
        if until is None and not last:
            raise ProgramError(source, where + ".until_day", "required on every phase but the last")
        if until is not None and last:
            raise ProgramError(source, where + ".until_day", "the last phase runs to the end of treatment: "
                                                             "remove it")
        if until is not None:
            _whole(source, where + ".until_day", until)
            if phases and phases[-1].until_day is not None and until <= phases[-1].until_day:
                raise ProgramError(source, where + ".until_day", "must be later than the phase before")
        phases.append(Phase(_whole(source, where + ".every_days", block["every_days"]), until))
    return tuple(phases)


def _threshold(source: str, field: str, raw: Any, default: tuple[str, ...]) -> Threshold:
    block = _table(source, field, raw, frozenset({*COMPARISONS, "analytes"}))
    given = [name for name in COMPARISONS if name in block]
    if len(given) != 1:
        raise ProgramError(source, field, f"needs exactly one of {', '.join(COMPARISONS)}")
    analytes = _analytes(source, field + ".analytes", block["analytes"]) if "analytes" in block else default
    return Threshold(given[0], _number(source, f"{field}.{given[0]}", block[given[0]]), analytes)


def _thresholds(source: str, field: str, raw: Any, default: tuple[str, ...]) -> tuple[Threshold, ...]:
    if not isinstance(raw, list) or not raw:
        raise ProgramError(source, field, "must be a non-empty list of thresholds")
    return tuple(_threshold(source, f"{field}[{i}]", item, default) for i, item in enumerate(raw))


def _acceptance(source: str, field: str, raw: Any) -> Acceptance:
    block = _table(source, field, raw, _ACCEPTANCE)
    lower = block.get("at_least_lower_limit", False)
    if not isinstance(lower, bool):
        raise ProgramError(source, field + ".at_least_lower_limit", "must be true or false")
    values = {name: _number(source, f"{field}.{name}", block[name], positive=name != "min_value")
              for name in ("max_uln_multiple", "max_value", "min_value") if name in block}
    if not values and not lower:
        raise ProgramError(source, field, f"needs at least one of {', '.join(sorted(_ACCEPTANCE))}")
    if "min_value" in values and "max_value" in values and values["min_value"] > values["max_value"]:
        raise ProgramError(source, field + ".min_value", "must not exceed max_value")
    return Acceptance(at_least_lower_limit=lower, **values)


def _hold(source: str, field: str, raw: Any, analytes: tuple[str, ...], cadence: tuple[Phase, ...]) -> Hold:
    block = _table(source, field, raw, frozenset({"action", "when", "every_days"}))
    action = block.get("action")
    if action not in HOLD_ACTIONS:
        raise ProgramError(source, field + ".action", f"must be one of {', '.join(HOLD_ACTIONS)}")
    if "when" not in block:
        raise ProgramError(source, field + ".when", "required")
    when = _thresholds(source, field + ".when", block["when"], analytes)
    every = block.get("every_days")
    if action == "monitor":
        if every is None:
            raise ProgramError(source, field + ".every_days", "required when action is monitor")
        _whole(source, field + ".every_days", every)
        if every >= max(phase.every_days for phase in cadence):
            raise ProgramError(source, field + ".every_days", "must be shorter than an interval of the cadence "
                                                              "(monitoring more often)")
    elif every is not None:
        raise ProgramError(source, field + ".every_days", "only for action monitor")
    return Hold(action, when, every)


def _beyond(outer: Threshold, inner: Threshold) -> bool:
    """Does `outer` lie strictly beyond `inner` (same direction, same base)?"""
    return outer.limit > inner.limit if outer.comparison in ABOVE else outer.limit < inner.limit


def _consistency(source: str, where: str, rule: LabRule) -> None:
    limits = [*(rule.hold.when if rule.hold else ()), *rule.stop]
    if rule.unit is None and (any(not t.uln_based for t in limits) or rule.acceptance.max_value is not None
                              or rule.acceptance.min_value is not None):
        raise ProgramError(source, where + "unit", "required when a limit is an absolute value")
    for index, stop in enumerate(rule.stop):
        for held in rule.hold.when if rule.hold else ():
            same = (stop.comparison in ABOVE) == (held.comparison in ABOVE) and stop.uln_based == held.uln_based
            if same and set(stop.analytes) & set(held.analytes) and not _beyond(stop, held):
                raise ProgramError(source, f"{where}stop[{index}]", "must lie beyond the hold threshold "
                                                                     "it shares analytes with")
    accepted = rule.acceptance.max_uln_multiple
    for index, held in enumerate(rule.hold.when if rule.hold else ()):
        if accepted is not None and held.comparison in ABOVE and held.uln_based and held.limit < accepted:
            raise ProgramError(source, f"{where}hold.when[{index}]", "must not be below acceptance."
                                                                      "max_uln_multiple")


def parse_lab_rule(source: str, where: str, spec_id: str, options: Mapping[str, Any]) -> LabRule:
    """The `lab_test` kind's fields of requirement `spec_id`; `where` prefixes every field named
    (e.g. "requirements[2]."). Raises ProgramError naming the file and field."""
    unknown = sorted(set(options) - _FIELDS - COMMON)
    if unknown:
        raise ProgramError(source, where + unknown[0], f"unknown field of lab_test requirement {spec_id!r}")
    for name in ("analytes", "initial_window_days", "cadence", "acceptance"):
        if name not in options:
            raise ProgramError(source, where + name, f"required (lab_test requirement {spec_id!r})")
    analytes = _analytes(source, where + "analytes", options["analytes"])
    settings = options.get("settings", ["lab"])
    if not isinstance(settings, list) or not settings or any(s not in SETTINGS for s in settings):
        raise ProgramError(source, where + "settings", f"must be a non-empty list of {', '.join(SETTINGS)}")
    unit = options.get("unit")
    if unit is not None and (not isinstance(unit, str) or not unit.strip()):
        raise ProgramError(source, where + "unit", "must be text")
    advisory = options.get("advisory", False)
    if not isinstance(advisory, bool):
        raise ProgramError(source, where + "advisory", "must be true or false")
    cadence = _cadence(source, where + "cadence", options["cadence"])
    rule = LabRule(
        analytes=analytes,
        initial_window_days=_whole(source, where + "initial_window_days", options["initial_window_days"]),
        cadence=cadence, acceptance=_acceptance(source, where + "acceptance", options["acceptance"]),
        settings=frozenset(settings), unit=unit.strip() if unit else None,
        hold=_hold(source, where + "hold", options["hold"], analytes, cadence) if "hold" in options else None,
        stop=_thresholds(source, where + "stop", options["stop"], analytes) if "stop" in options else (),
        advisory=advisory)
    _consistency(source, where, rule)
    return rule
