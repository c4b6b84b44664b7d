"""What the administrator reads about the programs (issue 17 items 4, 5, 6, 9), for the admin API
and the dashboard alike: every program with its lifecycle state today, one program's requirement
table and lint findings, the reconciliation list paged in SQL, and a candidate version's diff
from its text. Nothing here writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from rems.adapters.uow import UnitOfWork
from rems.domain.errors import InvalidInput
from rems.domain.lifecycle import WaiverUse
from rems.services.context import Context
from rems.services.programs import program_status
from rems.services.programs.program_diff import Change, diff_program, first_change
from workflows import lint
from workflows.program import Program, ProgramError, parse_program

MAX_PROGRAM_CHARS = 256 * 1024  # a program file is a few kilobytes; the API's body limit is 512 KiB
OUTCOMES = ("refused on the date", "freed on the date", "requirements change", "unchanged")


def change_dates(program: Program) -> list[date]:
    """Every date on which the file changes the program: parameter blocks, requirements' bounds,
    lifecycle blocks (T3: each from midnight in the program's zone)."""
    marks = {p.effective_from for p in program.parameter_sets} | {e.effective_from for e in program.lifecycle}
    for spec in program.requirements:
        marks |= {d for d in (spec.effective_from, spec.until) if d is not None}
    return sorted(marks)


def summary(uow: UnitOfWork, ctx: Context, program_id: str) -> dict[str, Any]:
    """One program as the list shows it: its state today (L1), its dated changes and requirements."""
    program = uow.program(program_id)
    now = program_status.status(uow, ctx, program_id)
    today = program.day_of(ctx.now)
    dates = change_dates(program)
    recorded = [c.effective_from for c in program_status.changes(uow, program_id)]
    return {"program": program.id, "name": program.name, "drug": program.drug, "time_zone": program.time_zone,
            "today": today.isoformat(), "state": now.state,
            "state_since": now.effective_from.isoformat() if now.effective_from else None,
            "state_reason": now.reason, "state_source": now.source,
            "requirements": len(program.requirements), "in_force": len(program.requirements_on(today)),
            "effective_dates": [d.isoformat() for d in dates],
            "next_change": next((d.isoformat() for d in sorted({*dates, *recorded}) if d > today), None),
            "relaxations": len(program.relaxations)}


def overview(uow: UnitOfWork, ctx: Context) -> list[dict[str, Any]]:
    return [summary(uow, ctx, program_id) for program_id in sorted(uow.programs)]


def requirements(uow: UnitOfWork, ctx: Context, program_id: str) -> dict[str, Any]:
    """Issue 17 item 9: the requirement table (`rems program check`) and the linter's findings,
    with whether each row is in force today on the program's calendar."""
    program = uow.program(program_id)
    today = program.day_of(ctx.now)
    in_force = {id(spec) for spec in program.requirements_on(today)}
    rows = [{**row, "in_force_today": id(spec) in in_force}
            for row, spec in zip(lint.table(program), program.requirements, strict=True)]
    findings = lint.check(program)
    return {"program": program.id, "today": today.isoformat(), "requirements": rows,
            "findings": [{"level": f.level, "field": f.field, "message": f.message} for f in findings],
            "ok": not any(f.level == "error" for f in findings)}


@dataclass(frozen=True)
class UsesPage:
    rows: Sequence[WaiverUse]
    total: int
    page: int
    size: int
    waivers: Sequence[str]  # every waiver name with a use in the program, for the filter

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def uses_page(uow: UnitOfWork, ctx: Context, program_id: str, waiver: str | None, page: int = 1,
              size: int = 50) -> UsesPage:
    """The reconciliation list (docs/lifecycle.md), newest first, one page at a time in SQL."""
    uow.program(program_id)
    if page < 1:
        raise InvalidInput("page", "a page number from 1")
    total, rows, names = uow.program_records.waiver_uses_page(program_id, waiver, page, size)
    return UsesPage(rows, total, page, size, names)


def parse_candidate(program_id: str, text: str, source: str = "candidate.toml") -> Program:
    """A new version's file, as text: a malformed one is refused naming its field (ProgramError),
    one for another program naming `id`."""
    if len(text) > MAX_PROGRAM_CHARS:
        raise InvalidInput("toml", f"larger than {MAX_PROGRAM_CHARS} characters")
    if not text.strip():
        raise InvalidInput("toml", "required: the new version's program file")
    try:
        candidate = parse_program(text, source)
    except ProgramError as error:
        raise InvalidInput(error.field, f"{source}: {error.reason}") from None
    except (ValueError, TypeError, KeyError, AttributeError) as error:  # a shape no parser names: never a trace
        raise InvalidInput("(file)", f"{source}: cannot be read as a program file ({type(error).__name__})") from None
    if candidate.id != program_id:
        raise InvalidInput("id", f"the file is program {candidate.id!r}, not {program_id!r}: a diff compares "
                                 "a new version of the same program")
    return candidate


def diff(uow: UnitOfWork, ctx: Context, program_id: str, text: str, on: date | None = None) -> dict[str, Any]:
    """Issue 17 item 6: today's patients under the version in force and under the candidate on its
    date: the counts of each outcome and every patient or authorization whose answer changes."""
    current = uow.program(program_id)
    candidate = parse_candidate(program_id, text)
    on = on or first_change(current, candidate, current.day_of(ctx.now))
    changes: list[Change] = diff_program(uow, ctx, candidate, on)
    counts = {outcome: sum(c.outcome == outcome for c in changes) for outcome in OUTCOMES}
    return {"program": program_id, "on": on.isoformat() if on else None,
            "patients": len({c.patient_id for c in changes}), "checks": len(changes), "counts": counts,
            "changes": [c.as_dict() for c in changes if c.outcome != "unchanged"]}
