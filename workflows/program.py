"""REMS programs as data: effective-dated parameters of REMS_RULES.md, loaded and validated."""

from __future__ import annotations

import dataclasses
import logging
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from workflows import bounds
from workflows.lifecycle import LifecycleEntry, parse_lifecycle
from workflows.products import Product, parse_products
from workflows.questionnaires import QuestionnaireSpec, parse_questionnaires
from workflows.relaxations import RelaxationSpec, parse_relaxations
from workflows.vocabulary import (
    ENGINE_PARAMETERS,
    KINDS,
    RequirementSpec,
    VocabularyError,
    parameters_read,
    parse_requirements,
)

PROGRAM_DIR = Path(__file__).parent / "programs"

# R5a: the six risk categories every program of this family uses.
CATEGORIES = ("adult_frp", "child_frp", "adult_fnrp", "child_fnrp", "adult_male", "child_male")
log = logging.getLogger(__name__)


class ProgramError(ValueError):
    """A program file that is malformed or inconsistent; names the file and the field."""

    def __init__(self, source: str, field: str, reason: str) -> None:
        super().__init__(f"{source}: {field}: {reason}")
        self.source, self.field, self.reason = source, field, reason


@dataclass(frozen=True)
class SurveyRule:
    """R20: how often a patient survey is due, and whether one is due before the first Rx."""

    interval_days: int
    before_first: bool


@dataclass(frozen=True)
class Parameters:
    effective_from: date
    child_age_years: int
    postmenopause_months: int
    postmenopause_min_age_years: int  # R35: a postmenopausal date before this age is implausible
    initial_test_early_min_days: int
    initial_test_early_max_days: int
    initial_test_recent_hours: int
    test_detection_threshold_miu_per_ml: int  # R10: a test counts if it detects hCG at or below this
    home_tests_allowed: bool
    weekly_test_interval_days: int
    weekly_test_weeks: int
    regular_cycle_test_interval_days: int
    irregular_cycle_test_interval_days: int
    contraception_before_days: int
    contraception_after_days: int
    male_condom_after_days: int
    blood_donation_after_days: int
    frp_authorization_valid_days: int
    authorization_valid_days: int
    max_supply_days: int
    max_units_per_day: int  # R24: the quantity must fit days x this (capsules a day at the most)
    max_refills: int
    confirmation_valid_hours: int
    refill_window_days: int
    pharmacy_recertification_days: int
    prescriber_recertification_days: int
    survey: Mapping[str, SurveyRule]


_FIELDS = {f.name: f.type for f in dataclasses.fields(Parameters)}
_NUMBERS = [name for name, kind in _FIELDS.items() if kind == "int"]
# Zero is a legitimate value only where it means "none" or "not allowed".
_ZERO_ALLOWED = {"max_refills", "prescriber_recertification_days", "pharmacy_recertification_days"}


@dataclass(frozen=True)
class Program:
    id: str
    name: str
    drug: str
    rxnorm: tuple[str, ...]
    authorization_prefix: str
    parameter_sets: tuple[Parameters, ...]
    time_zone: str = "America/New_York"  # T1: patients' default zone; effective dates start at its midnight
    # Issue 17: what the gate evaluates, in file order (workflows/vocabulary.py)
    requirements: tuple[RequirementSpec, ...] = ()
    # T4: the reason a program declares no dispensing gate at all (None: it has one)
    information_only: str | None = None
    # T4: the declared deviations from safety bounds, parameter name -> reason
    deviations: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def day_of(self, moment: datetime | date) -> date:
        """T3: the program's calendar date of `moment` (an aware instant read in its zone)."""
        if isinstance(moment, datetime) and moment.tzinfo is not None:
            moment = moment.astimezone(ZoneInfo(self.time_zone))
        return moment.date() if isinstance(moment, datetime) else moment

    def requirements_on(self, moment: datetime | date) -> tuple[RequirementSpec, ...]:
        """The requirements in force on the program's date of `moment`, in file order."""
        day = self.day_of(moment)
        return tuple(spec for spec in self.requirements if spec.in_force(day))

    products: tuple[Product, ...] = ()  # issue 17 item 7: NDCs routed here (workflows/products.py)

    lifecycle: tuple[LifecycleEntry, ...] = ()  # issue 17 item 4 (workflows/lifecycle.py)
    relaxations: tuple[RelaxationSpec, ...] = ()  # issue 17 item 5 (workflows/relaxations.py)
    questionnaires: tuple[QuestionnaireSpec, ...] = ()  # issue 16 item 3 (workflows/questionnaires.py)

    def at(self, moment: datetime | date) -> Parameters:
        """The parameters in force at `moment` (the latest set effective on or before it); an
        aware instant is read on the program's calendar (T3: effective dates start at midnight in
        the program's zone), a date as given."""
        day = self.day_of(moment)
        current = None
        for params in self.parameter_sets:
            if params.effective_from <= day:
                current = params
        if current is None:
            raise ProgramError(self.id, "effective_from", f"no parameters in force on {day}")
        return current


def _check_scalar(source: str, where: str, name: str, value: Any) -> None:
    expected = _FIELDS[name]
    if expected == "bool":
        if not isinstance(value, bool):
            raise ProgramError(source, where + name, "must be true or false")
    elif expected == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ProgramError(source, where + name, "must be a whole number")
        if value < 0 or (value == 0 and name not in _ZERO_ALLOWED):
            raise ProgramError(source, where + name, "must be greater than zero")


def _survey(source: str, where: str, raw: Any) -> dict[str, SurveyRule]:
    if not isinstance(raw, dict):
        raise ProgramError(source, where + "survey", "must be a table of categories")
    unknown = set(raw) - set(CATEGORIES)
    if unknown:
        raise ProgramError(source, f"{where}survey.{sorted(unknown)[0]}", "unknown risk category")
    rules = {}
    for category, rule in raw.items():
        field = f"{where}survey.{category}"
        if not isinstance(rule, dict) or set(rule) != {"interval_days", "before_first"}:
            raise ProgramError(source, field, "needs exactly interval_days and before_first")
        if isinstance(rule["interval_days"], bool) or not isinstance(rule["interval_days"], int) \
                or rule["interval_days"] <= 0:
            raise ProgramError(source, field + ".interval_days", "must be a whole number > 0")
        if not isinstance(rule["before_first"], bool):
            raise ProgramError(source, field + ".before_first", "must be true or false")
        rules[category] = SurveyRule(rule["interval_days"], rule["before_first"])
    return rules


def _consistency(source: str, where: str, p: Parameters) -> None:
    if p.initial_test_early_min_days > p.initial_test_early_max_days:
        raise ProgramError(source, where + "initial_test_early_min_days",
                           "must not exceed initial_test_early_max_days")
    if p.initial_test_recent_hours >= p.initial_test_early_min_days * 24:
        raise ProgramError(source, where + "initial_test_recent_hours",
                           "must end before the early test window begins")
    missing = [c for c in CATEGORIES if c not in p.survey]
    if missing:
        raise ProgramError(source, f"{where}survey.{missing[0]}", "missing risk category")


def _deviations(source: str, raw: Any) -> dict[str, str]:
    """T4: the `[deviations]` table, parameter name -> reason text (both required)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ProgramError(source, "deviations", 'must be a table of parameter = "reason"')
    for name, reason in raw.items():
        if name not in bounds.DEVIABLE:
            raise ProgramError(source, f"deviations.{name}", "no safety bound of that name to deviate from")
        if not isinstance(reason, str) or not reason.strip():
            raise ProgramError(source, f"deviations.{name}", "needs a reason (text)")
    return {name: reason.strip() for name, reason in raw.items()}


def _bounded(source: str, where: str, p: Parameters, declared: Mapping[str, str],
             read: frozenset[str], logged: set[tuple[str, Any]]) -> set[str]:
    """T4: refuse a value that switches a safeguard off unless declared; log each declared one.
    Only parameters a declared requirement (or the engine itself) reads are bounded: a program
    without pregnancy tests is not held to their windows (issue 17)."""
    used = set()
    for name, value, reason in bounds.breaches(p):
        if name.split(".")[0] not in read:
            continue
        if name not in declared:
            raise ProgramError(source, where + name, f"{reason}; a deviation must be declared in "
                                                     "[deviations] with a reason")
        if (name, value) not in logged:  # once per value, not again for every later block
            # T4: logged where programs load (a server's or worker's log at start, INFO); every CLI
            # run would repeat it, so `rems program check` lists the file's deviations instead
            log.info("%s: %s%s = %r deviates from its safety bound (%s); declared reason: %s",
                     source, where, name, value, reason, declared[name])
            logged.add((name, value))
        used.add(name)
    return used


def _parameter_sets(source: str, raw: Any, declared: Mapping[str, str],
                    read: frozenset[str]) -> tuple[Parameters, ...]:
    if not isinstance(raw, list) or not raw:
        raise ProgramError(source, "parameters", "at least one [[parameters]] block is required")
    sets: list[Parameters] = []
    merged: dict[str, Any] = {}
    used: set[str] = set()
    logged: set[tuple[str, Any]] = set()
    for index, block in enumerate(raw):
        where = f"parameters[{index}]."
        if not isinstance(block, dict):
            raise ProgramError(source, f"parameters[{index}]", "must be a [[parameters]] table")
        unknown = sorted(set(block) - set(_FIELDS))
        if unknown:
            raise ProgramError(source, where + unknown[0], "unknown parameter")
        if not isinstance(block.get("effective_from"), date) or isinstance(
                block.get("effective_from"), datetime):
            raise ProgramError(source, where + "effective_from", "must be a date (YYYY-MM-DD)")
        if sets and block["effective_from"] <= sets[-1].effective_from:
            raise ProgramError(source, where + "effective_from", "must be later than the block before")
        for name, value in block.items():
            if name == "survey":
                merged["survey"] = {**merged.get("survey", {}), **_survey(source, where, value)}
            elif name != "effective_from":
                _check_scalar(source, where, name, value)
                merged[name] = value
        merged["effective_from"] = block["effective_from"]
        absent = sorted(set(_FIELDS) - set(merged))
        if absent:
            raise ProgramError(source, where + absent[0], "missing (the first block must be complete)")
        params = Parameters(**merged)
        _consistency(source, where, params)
        used |= _bounded(source, where, params, declared, read, logged)
        sets.append(params)
    unused = sorted(set(declared) - used)
    if unused:
        raise ProgramError(source, f"deviations.{unused[0]}",
                           "declared, but every block keeps it inside its bound: remove it")
    return tuple(sets)


def parse_program(text: str, source: str = "<program>") -> Program:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProgramError(source, "(file)", f"not valid TOML: {error}") from None
    for key in ("id", "name", "drug", "authorization_prefix", "time_zone"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise ProgramError(source, key, "required text")
    rxnorm = raw.get("rxnorm", [])
    if not isinstance(rxnorm, list) or not all(isinstance(code, str) for code in rxnorm):
        raise ProgramError(source, "rxnorm", "must be a list of codes as text")
    unknown = sorted(set(raw) - {"id", "name", "drug", "rxnorm", "authorization_prefix", "time_zone",
                                 "parameters", "deviations", "requirements", "information_only", "products",
                                 "lifecycle", "relaxations", "questionnaires"})
    if unknown:
        raise ProgramError(source, unknown[0], "unknown field")
    try:
        ZoneInfo(raw["time_zone"])
    except (ValueError, ZoneInfoNotFoundError):
        raise ProgramError(source, "time_zone", "must be an IANA time zone name") from None
    try:
        requirements, problem = _requirements(source, raw), None
    except ProgramError as error:  # reported after the parameters (the file's order)
        requirements, problem = (), error
    read = parameters_read_by(requirements) if problem is None else frozenset(_FIELDS)
    deviations = _deviations(source, raw.get("deviations"))
    parameter_sets = _parameter_sets(source, raw.get("parameters"), deviations, read)
    if problem is not None:
        raise problem
    program = Program(raw["id"], raw["name"], raw["drug"], tuple(rxnorm), raw["authorization_prefix"],
                      parameter_sets, raw["time_zone"], requirements, raw.get("information_only"), deviations,
                      products=parse_products(source, raw.get("products")),
                      lifecycle=parse_lifecycle(source, raw.get("lifecycle")),
                      relaxations=parse_relaxations(source, raw.get("relaxations")),
                      questionnaires=parse_questionnaires(source, raw["id"], raw.get("questionnaires"), requirements))
    gaps = safety_gaps(program)
    if gaps:  # T4: refused at load; a program without a gate says so in information_only
        raise ProgramError(source, "requirements", gaps[0])
    return program


def _requirements(source: str, raw: Mapping[str, Any]) -> tuple[RequirementSpec, ...]:
    """Issue 17, T4: the declared requirements. The key is required: a program without a
    dispensing gate says so, with a reason, in `information_only` (logged at load)."""
    if "requirements" not in raw:
        raise ProgramError(source, "requirements", "required: the [[requirements]] the gate evaluates "
                                                   "(docs/program-vocabulary.md)")
    try:
        specs = tuple(spec for _, spec in parse_requirements(raw["requirements"]))
    except VocabularyError as error:
        raise ProgramError(source, error.field, error.reason) from None
    reason = raw.get("information_only")
    if reason is not None and (not isinstance(reason, str) or not reason.strip()):
        raise ProgramError(source, "information_only", "needs a reason (text)")
    if not specs and reason is None:
        raise ProgramError(source, "requirements", "none declared: a program without a dispensing gate "
                                                   'must say so with information_only = "reason" (T4)')
    if specs and reason is not None:
        raise ProgramError(source, "information_only", "declared, but the program has requirements: remove it")
    if reason is not None:
        log.info("%s: information only, no dispensing gate; declared reason: %s", source, reason)
    return specs


def parameters_read_by(requirements: Iterable[RequirementSpec]) -> frozenset[str]:
    """T4: the [[parameters]] the engine and the declared requirements read (only these are bounded)."""
    return frozenset(ENGINE_PARAMETERS).union(*(parameters_read(spec) for spec in requirements))


def change_dates(program: Program) -> list[date]:
    """Every date on which the program changes (a parameter block, a requirement's bounds)."""
    marks = {p.effective_from for p in program.parameter_sets}
    for spec in program.requirements:
        marks |= {d for d in (spec.effective_from, spec.until) if d is not None}
    return sorted(marks)


_ALWAYS = ((("certification", "prescriber"), "the prescriber's certification"),
           (("certification", "pharmacy"), "the pharmacy's certification"),
           (("enrollment", None), "the patient's enrollment"))


def _full_stages(spec: RequirementSpec) -> frozenset[str]:
    if spec.kind == "certification" and spec.options.get("stakeholder") == "pharmacy":
        return frozenset({"confirm", "dispense"})  # the pharmacy is known only there
    return KINDS[spec.kind].allowed_stages


def safety_gaps(program: Program) -> list[str]:
    """T4: the dates from which a gate would dispense without knowing who prescribes, who
    dispenses, or whether the patient is enrolled (an information-only program declares it)."""
    if program.information_only is not None:
        return []
    gaps = []
    for day in change_dates(program):
        # a safeguard counts only if it covers everyone at every stage its kind may apply:
        # `applies_to` or `stages` cannot narrow it away (T4)
        kinds = {(s.kind, s.options.get("stakeholder")) for s in program.requirements_on(day)
                 if s.applies_to is None and s.stages >= _full_stages(s)}
        if not kinds:
            gaps.append(f"from {day} no requirement is in force: the check would allow everyone")
            continue
        gaps += [f"from {day} {what} is not required (T4)" for needed, what in _ALWAYS if needed not in kinds]
    return gaps


def load_program(path: Path) -> Program:
    program = parse_program(path.read_text(encoding="utf-8"), path.name)
    if program.id != path.stem:
        raise ProgramError(path.name, "id", f"must match the file name ({path.stem!r})")
    return program


def load_programs(directory: Path = PROGRAM_DIR) -> dict[str, Program]:
    programs = {}
    for path in sorted(directory.glob("*.toml")):
        program = load_program(path)
        programs[program.id] = program
    if not programs:
        raise ProgramError(str(directory), "(directory)", "no program files")
    return programs
