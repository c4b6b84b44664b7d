"""The requirement vocabulary (issue 17): the fixed kinds a program file's `[[requirements]]`
blocks are made of. Adding a kind is code (here, and its evaluator in rems.domain.gate);
adding or changing a program is data only. docs/program-vocabulary.md describes each kind.

A block names its kind, its id, the program's rule id and FDA's REMS requirement code (C128494
value set), the risk categories and stages it applies to, and the dates it is in force; the
remaining fields are the kind's own and are checked here, by name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

STAGES = ("readiness", "authorize", "confirm", "dispense")
_PRESCRIPTION_STAGES = frozenset({"authorize", "confirm", "dispense"})
# R5a: the six risk categories the enrollment kind derives (sex, age, reproductive potential).
CATEGORIES = ("adult_frp", "child_frp", "adult_fnrp", "child_fnrp", "adult_male", "child_male")
_FDA_CODE = re.compile(r"C\d{5,6}")
_RULE_ID = re.compile(r"[A-Z][A-Z0-9]{0,9}")
_COMMON = {"kind", "id", "rule", "fda_code", "applies_to", "stages", "effective_from", "until",
           "title", "rules"}


class VocabularyError(ValueError):
    """A bad `[[requirements]]` block: the field (relative to the block) and the reason."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


@dataclass(frozen=True)
class RequirementSpec:
    """One declared requirement of a program."""

    kind: str
    id: str
    rule: str  # the program's rule id ("R9" in the IMiD programs, "IP3" in iPLEDGE)
    fda_code: str | None  # REMS requirement code (C128494 value set)
    applies_to: frozenset[str] | None  # risk categories; None: every patient
    stages: frozenset[str]
    effective_from: date | None = None
    until: date | None = None  # retired from this date on (program's calendar)
    options: Mapping[str, Any] = field(default_factory=dict)
    title: str = ""
    # the kind's own rule ids renamed to the program's (e.g. {"R11": "IP4"}); see `rule_of`
    rules: Mapping[str, str] = field(default_factory=dict)

    def in_force(self, day: date) -> bool:
        return (self.effective_from is None or self.effective_from <= day) and (
            self.until is None or day < self.until)

    def applies(self, category: str) -> bool:
        return self.applies_to is None or category in self.applies_to

    def rule_of(self, native: str) -> str:
        """The program's id for a rule the kind's evaluator reports under its REMS_RULES.md id."""
        if native in self.rules:
            return self.rules[native]
        return native if self.rule in KINDS[self.kind].native_rules else self.rule


Options = Callable[[Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Kind:
    """What the vocabulary knows of a kind: its stages, the rule ids its evaluator reports (from
    REMS_RULES.md), the [[parameters]] it reads, and how its own fields are checked."""

    description: str
    default_stages: frozenset[str]
    allowed_stages: frozenset[str]
    native_rules: frozenset[str]
    parameters: tuple[str, ...] = ()
    options: Options = lambda raw: _no_options(raw)
    needs_prescription: bool = False


def _no_options(raw: Mapping[str, Any]) -> dict[str, Any]:
    if raw:
        raise VocabularyError(sorted(raw)[0], "unknown field for this kind")
    return {}


def _choice(raw: Mapping[str, Any], name: str, allowed: tuple[str, ...], default: str | None = None) -> str:
    value = raw.get(name, default)
    if value not in allowed:
        raise VocabularyError(name, f"must be one of {', '.join(allowed)}")
    return str(value)


def _flag(raw: Mapping[str, Any], name: str, default: bool) -> bool:
    value = raw.get(name, default)
    if not isinstance(value, bool):
        raise VocabularyError(name, "must be true or false")
    return value


def _only(raw: Mapping[str, Any], names: set[str]) -> None:
    unknown = sorted(set(raw) - names)
    if unknown:
        raise VocabularyError(unknown[0], "unknown field for this kind")


def _certification(raw: Mapping[str, Any]) -> dict[str, Any]:
    _only(raw, {"stakeholder"})
    return {"stakeholder": _choice(raw, "stakeholder", ("prescriber", "pharmacy"))}


def _enrollment(raw: Mapping[str, Any]) -> dict[str, Any]:
    _only(raw, {"derivation", "agreement_form", "guardian_for_children"})
    return {"derivation": _choice(raw, "derivation", ("R5a",), "R5a"),
            "agreement_form": _flag(raw, "agreement_form", True),
            "guardian_for_children": _flag(raw, "guardian_for_children", True)}


STOP_EVENTS = ("positive_pregnancy_test", "pregnancy_report")


def _stop_events(raw: Mapping[str, Any]) -> dict[str, Any]:
    _only(raw, {"events"})
    events = raw.get("events")
    if not isinstance(events, list) or not events or any(e not in STOP_EVENTS for e in events):
        raise VocabularyError("events", f"must list one or more of {', '.join(STOP_EVENTS)}")
    return {"events": tuple(events)}


ANALYTES_WITH_OWN_EVALUATOR = ("hCG",)  # R9-R11: the pregnancy-test cadence of [[parameters]]


def _lab_test(raw: Mapping[str, Any]) -> dict[str, Any]:
    """`analyte = "hCG"`: the pregnancy test (numbers in [[parameters]]); `analytes = [...]`: ALT,
    AST, ANC… with their numbers in the block (workflows/labs.py, docs/lab-tests.md)."""
    if "analytes" not in raw:
        if raw.get("analyte") != "hCG":
            raise VocabularyError("analyte", 'must be "hCG" (or list other analytes in `analytes`)')
        _only(raw, {"analyte"})
        return {"analyte": "hCG"}
    if "analyte" in raw:
        raise VocabularyError("analyte", "give either analyte = \"hCG\" or analytes = [...], not both")
    from workflows import labs  # the lab-monitoring fields (a lazy import: labs imports the loader)
    from workflows.program import ProgramError
    try:
        rule = labs.parse_lab_rule("", "", "", raw)
    except ProgramError as error:
        raise VocabularyError(error.field, error.reason) from None
    return {"analyte": ", ".join(rule.analytes), "lab_rule": rule}


def parameters_read(spec: RequirementSpec) -> tuple[str, ...]:
    """The [[parameters]] a declared requirement reads (T4 bounds only these)."""
    if spec.kind == "lab_test" and spec.options.get("analyte") != "hCG":
        return ()  # its numbers are in its own block
    return KINDS[spec.kind].parameters


def _survey(raw: Mapping[str, Any]) -> dict[str, Any]:
    _only(raw, {"respondent"})
    return {"respondent": _choice(raw, "respondent", ("patient", "prescriber"))}


ATTESTATIONS = ("contraception_counselling",)


def _attestation(raw: Mapping[str, Any]) -> dict[str, Any]:
    _only(raw, {"what"})
    return {"what": _choice(raw, "what", ATTESTATIONS)}


COUNSELLING_ITEMS = ("counselled", "education_checklist_completed", "medication_guide_given")


def _counselling(raw: Mapping[str, Any]) -> dict[str, Any]:
    _only(raw, {"checklist"})
    items = raw.get("checklist", list(COUNSELLING_ITEMS))
    if not isinstance(items, list) or not items or any(i not in COUNSELLING_ITEMS for i in items):
        raise VocabularyError("checklist", f"must list one or more of {', '.join(COUNSELLING_ITEMS)}")
    return {"checklist": tuple(items)}


# [[parameters]] the engine reads whatever the program declares: the risk category (R5a-R7), an
# authorization's and a confirmation's validity (R23, R27).
ENGINE_PARAMETERS = ("child_age_years", "postmenopause_months", "postmenopause_min_age_years",
                     "authorization_valid_days", "confirmation_valid_hours")
_ALL = frozenset(STAGES)
_PHARMACY = frozenset({"confirm", "dispense"})
_HCG_PARAMETERS = ("initial_test_early_min_days", "initial_test_early_max_days", "initial_test_recent_hours",
                   "test_detection_threshold_miu_per_ml", "home_tests_allowed", "weekly_test_interval_days",
                   "weekly_test_weeks", "regular_cycle_test_interval_days", "irregular_cycle_test_interval_days",
                   "frp_authorization_valid_days")

KINDS: dict[str, Kind] = {
    "certification": Kind(
        "the prescriber's or the pharmacy's certification in this program, with recertification",
        _ALL, _ALL, frozenset({"R1", "R3", "R25"}),
        ("prescriber_recertification_days", "pharmacy_recertification_days"), _certification),
    "enrollment": Kind(
        "the patient's enrollment: its state, the agreement form (PPAF) for the current category, "
        "a guardian's signature for a child", _ALL, _ALL, frozenset({"R5", "R6", "R8", "R12", "R30"}),
        ("child_age_years", "postmenopause_months", "postmenopause_min_age_years"), _enrollment),
    "stop_events": Kind(
        "events that stop therapy for the person, in every enrollment, until a readmission decision",
        _ALL, _ALL, frozenset({"R30", "R34"}), (), _stop_events),
    "lab_test": Kind(
        "a laboratory test: analyte, acceptance, setting, initial tests and a cadence by phase",
        _ALL, _ALL, frozenset({"R9", "R10", "R11", "R23"}), _HCG_PARAMETERS, _lab_test),
    "survey": Kind(
        "a survey or knowledge assessment: the patient's by interval or per prescription, the "
        "prescriber's per prescription", _ALL, _ALL, frozenset({"R19", "R20"}), ("survey",), _survey),
    "attestation": Kind(
        "the prescriber attests something for this prescription (e.g. contraception counselling)",
        _PRESCRIPTION_STAGES, _PRESCRIPTION_STAGES, frozenset({"R15"}),
        ("contraception_before_days", "contraception_after_days", "male_condom_after_days",
         "blood_donation_after_days"), _attestation, True),
    "supply": Kind(
        "days of supply, units per day and refills of a prescription", _PRESCRIPTION_STAGES,
        _PRESCRIPTION_STAGES, frozenset({"R24"}), ("max_supply_days", "max_units_per_day", "max_refills"),
        needs_prescription=True),
    "authorization": Kind(
        "a valid authorization: one open at a time, its state, expiry (from issue, or from the "
        "qualifying test), patient and category", _PRESCRIPTION_STAGES, _PRESCRIPTION_STAGES,
        frozenset({"R19", "R22", "R23", "R26", "R33", "R36"}), ("authorization_valid_days",),
        needs_prescription=True),
    "refill_window": Kind(
        "at most N days of supply on hand from earlier dispenses", _PHARMACY, _PHARMACY,
        frozenset({"R28"}), ("refill_window_days",), needs_prescription=True),
    "pharmacy_confirmation": Kind(
        "a confirmation number issued to this pharmacy, valid N hours", frozenset({"dispense"}),
        frozenset({"dispense"}), frozenset({"R26", "R27"}), ("confirmation_valid_hours",),
        needs_prescription=True),
    "counselling": Kind(
        "the pharmacy's counselling checklist before it dispenses", frozenset({"dispense"}),
        frozenset({"dispense"}), frozenset({"R29"}), (), _counselling, True),
}


def _date(raw: Any, name: str) -> date | None:
    if raw is None:
        return None
    if not isinstance(raw, date) or isinstance(raw, datetime):
        raise VocabularyError(name, "must be a date (YYYY-MM-DD)")
    return raw


def _categories(raw: Any) -> frozenset[str] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw or any(c not in CATEGORIES for c in raw):
        raise VocabularyError("applies_to", f"must list risk categories ({', '.join(CATEGORIES)})")
    return frozenset(raw)


def parse_requirement(block: Any) -> RequirementSpec:
    """One `[[requirements]]` table; raises VocabularyError naming the field."""
    if not isinstance(block, dict):
        raise VocabularyError("(block)", "must be a [[requirements]] table")
    kind_name = block.get("kind")
    if kind_name not in KINDS:
        raise VocabularyError("kind", f"must be one of {', '.join(KINDS)}")
    kind = KINDS[kind_name]
    for name in ("id", "rule"):
        if not isinstance(block.get(name), str) or not block[name].strip():
            raise VocabularyError(name, "required text")
    if not _RULE_ID.fullmatch(block["rule"]):
        raise VocabularyError("rule", "must be a rule id such as R9 or IP3 (capitals and digits)")
    fda_code = block.get("fda_code")
    if fda_code is not None and (not isinstance(fda_code, str) or not _FDA_CODE.fullmatch(fda_code)):
        raise VocabularyError("fda_code", "must be a REMS requirement code such as C128523")
    stages_raw = block.get("stages")
    if stages_raw is None:
        stages = kind.default_stages
    else:
        if not isinstance(stages_raw, list) or not stages_raw or any(s not in STAGES for s in stages_raw):
            raise VocabularyError("stages", f"must list stages ({', '.join(STAGES)})")
        stages = frozenset(stages_raw)
        if not stages <= kind.allowed_stages:
            raise VocabularyError("stages", f"a {kind_name} requirement applies only at "
                                            f"{', '.join(s for s in STAGES if s in kind.allowed_stages)}")
    rules = block.get("rules", {})
    if not isinstance(rules, dict) or any(k not in kind.native_rules or not isinstance(v, str)
                                          or not _RULE_ID.fullmatch(v) for k, v in rules.items()):
        raise VocabularyError("rules", f"maps this kind's rule ids ({', '.join(sorted(kind.native_rules))}) "
                                       "to the program's")
    effective_from, until = _date(block.get("effective_from"), "effective_from"), _date(block.get("until"), "until")
    if effective_from is not None and until is not None and until <= effective_from:
        raise VocabularyError("until", "must be later than effective_from")
    title = block.get("title", "")
    if not isinstance(title, str):
        raise VocabularyError("title", "must be text")
    options = kind.options({k: v for k, v in block.items() if k not in _COMMON})
    if kind_name == "certification" and options["stakeholder"] == "pharmacy" and stages_raw is None:
        stages = _PHARMACY
    if kind_name == "certification" and options["stakeholder"] == "pharmacy" and not stages <= _PHARMACY:
        raise VocabularyError("stages", "the pharmacy is known only at confirm and dispense")
    return RequirementSpec(kind_name, block["id"].strip(), block["rule"], fda_code,
                           _categories(block.get("applies_to")), stages, effective_from, until,
                           options, title, dict(rules))


def parse_requirements(raw: Any) -> tuple[tuple[int, RequirementSpec], ...]:
    """Every `[[requirements]]` block, in file order (the gate reports in that order); ids unique
    among blocks in force together. Raises VocabularyError with `requirements[i].field`."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise VocabularyError("requirements", "must be [[requirements]] tables")
    specs: list[tuple[int, RequirementSpec]] = []
    for index, block in enumerate(raw):
        try:
            spec = parse_requirement(block)
        except VocabularyError as error:
            raise VocabularyError(f"requirements[{index}].{error.field}", error.reason) from None
        for _, other in specs:
            if other.id == spec.id and _overlap(other, spec):
                raise VocabularyError(f"requirements[{index}].id",
                                      f"{spec.id!r} is already declared for an overlapping period")
        specs.append((index, spec))
    return tuple(specs)


def _overlap(a: RequirementSpec, b: RequirementSpec) -> bool:
    a_lo, b_lo = a.effective_from or date.min, b.effective_from or date.min
    a_hi, b_hi = a.until or date.max, b.until or date.max
    return a_lo < b_hi and b_lo < a_hi
