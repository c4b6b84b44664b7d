"""`rems program check FILE` (issue 17 item 9): what a loaded program file leaves incomplete,
inconsistent or unsafe (T4), and its requirement table. Pure: the caller reads the file.

The loader (workflows.program) already refuses a file it cannot run, naming the field; these are
the findings a file that loads may still deserve. `error` findings make the check fail."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, fields
from datetime import date

from workflows.program import Parameters, Program, parameters_read_by, safety_gaps
from workflows.vocabulary import RequirementSpec


@dataclass(frozen=True)
class Finding:
    level: str  # "error" | "warning" | "info"
    field: str  # where in the file: "requirements[3].fda_code", "parameters[0].max_units_per_day"
    message: str


def _where(program: Program, spec: RequirementSpec) -> str:
    return f"requirements[{program.requirements.index(spec)}]"


def _safety(program: Program) -> list[Finding]:
    """T4: a gate that dispenses without knowing who prescribes or who dispenses (the loader
    refuses such a file; a Program built otherwise is reported here too)."""
    if program.information_only is not None:
        return [Finding("info", "information_only", f"no dispensing gate: {program.information_only}")]
    return [Finding("error", "requirements", gap) for gap in safety_gaps(program)]


def _specs(program: Program) -> list[Finding]:
    found: list[Finding] = []
    by_id: dict[str, list[RequirementSpec]] = {}
    for spec in program.requirements:
        where = _where(program, spec)
        by_id.setdefault(spec.id, []).append(spec)
        if spec.fda_code is None:
            found.append(Finding("warning", f"{where}.fda_code", f"{spec.id}: no FDA REMS requirement code "
                                 "(C128494): the program cannot be compared with FDA's description"))
        if spec.kind == "lab_test" and spec.options.get("analyte") == "hCG" and spec.applies_to is None:
            found.append(Finding("warning", f"{where}.applies_to", f"{spec.id}: pregnancy tests for every "
                                 "patient, males included; name the categories (R5a)"))
    for key, versions in by_id.items():
        ordered = sorted(versions, key=lambda s: s.effective_from or date.min)
        for before, after in itertools.pairwise(ordered):
            if before.until is not None and after.effective_from is not None and before.until < after.effective_from:
                found.append(Finding("warning", f"{_where(program, after)}.effective_from",
                                     f"{key}: not in force from {before.until} to {after.effective_from}"))
    return found


def _unused(program: Program) -> list[Finding]:
    read = parameters_read_by(program.requirements)
    names = [f.name for f in fields(Parameters) if f.name != "effective_from"]
    unused = [n for n in names if n not in read]
    if not unused:
        return []
    return [Finding("info", "parameters", "read by no declared requirement: " + ", ".join(unused))]


def _deviations(program: Program) -> list[Finding]:
    """T4: each declared deviation from a safety bound, with its reason, for a reviewer to see."""
    return [Finding("warning", f"deviations.{name}", f"deviates from its safety bound: {reason}")
            for name, reason in sorted(program.deviations.items())]


def check(program: Program) -> list[Finding]:
    """Every finding, errors first."""
    order = {"error": 0, "warning": 1, "info": 2}
    found = _safety(program) + _deviations(program) + _specs(program) + _unused(program)
    return sorted(found, key=lambda f: order[f.level])


def table(program: Program) -> list[dict[str, str]]:
    """The requirement table: one row per declared block, in the gate's order."""
    rows = []
    for spec in program.requirements:
        detail = ", ".join(f"{k}={v}" for k, v in spec.options.items() if isinstance(v, (str, bool, int, tuple)))
        rows.append({"id": spec.id, "kind": spec.kind, "rule": spec.rule, "fda_code": spec.fda_code or "-",
                     "applies_to": ", ".join(sorted(spec.applies_to)) if spec.applies_to else "everyone",
                     "stages": ", ".join(s for s in ("readiness", "authorize", "confirm", "dispense")
                                         if s in spec.stages),
                     "in_force": f"{spec.effective_from or '…'} to {spec.until or '…'}", "detail": detail})
    return rows
