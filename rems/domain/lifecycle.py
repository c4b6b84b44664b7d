"""Issue 17 items 4-5, T3: a program's lifecycle state at an instant, and the waivers a gate
decision may carry (enforcement discretion, a declared relaxation). Pure: no I/O, no clock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from rems.domain.catalogue import (
    R9_EARLY_TEST_MISSING,
    R9_RECENT_TEST_MISSING,
    R10_TEST_NOT_ACCEPTABLE,
    R11_TEST_OVERDUE,
    R23_TEST_TOO_OLD_TO_AUTHORIZE,
)
from rems.domain.requirements import Decision, Requirement, Waiver, need
from workflows.lifecycle import STATES, rank
from workflows.program import Program
from workflows.relaxations import RelaxationSpec

DISCRETION = "enforcement_discretion"
# Codes of the refusals the lifecycle itself answers (409); the rule is issue 17's item.
PROGRAM_ELIMINATED = "LIFECYCLE_PROGRAM_ELIMINATED"
CLOSED_TO_NEW_ENROLLMENT = "LIFECYCLE_CLOSED_TO_NEW_ENROLLMENT"
RULE = "L1"  # docs/lifecycle.md: the program lifecycle (PROGRAMS.md "Program lifecycle")
# R23: an FRP authorization runs from its qualifying negative test; without one no authorization
# can be issued, so no waiver covers these at the authorize stage.
NEEDS_QUALIFYING_TEST = frozenset({R9_EARLY_TEST_MISSING, R9_RECENT_TEST_MISSING, R10_TEST_NOT_ACCEPTABLE,
                                   R11_TEST_OVERDUE, R23_TEST_TOO_OLD_TO_AUTHORIZE})


@dataclass(eq=False)
class ProgramStatusChange:
    """An administrator's record of a lifecycle change (audited; the file's blocks are FDA's)."""

    id: str
    program_id: str
    state: str
    effective_from: date  # midnight in the program's zone (T3)
    reason: str
    actor: str
    recorded_at: datetime


@dataclass(eq=False)
class RelaxationActivation:
    """Issue 17 item 5: one activation of a declared relaxation; in force once approved by a
    second administrator, until `ends_at` or its revocation."""

    id: str
    program_id: str
    name: str
    reason: str
    activated_by: str
    activated_at: datetime
    ends_at: datetime
    approved_by: str | None = None
    approved_at: datetime | None = None
    revoked_by: str | None = None
    revoked_at: datetime | None = None
    version: int = 1

    def in_force(self, now: datetime) -> bool:
        return (self.approved_at is not None and self.revoked_at is None
                and self.approved_at <= now < self.ends_at)


@dataclass(eq=False)
class WaiverUse:
    """One gate decision allowed although requirements were unmet: listed for reconciliation."""

    id: str
    program_id: str
    prescription_id: str
    stage: str
    waiver: str  # "enforcement_discretion" or the relaxation's name
    codes: list[str]  # what it would have refused
    actor: str
    at: datetime
    activation_id: str | None = None


@dataclass(frozen=True)
class Status:
    state: str
    effective_from: date | None  # None: active since the program began
    reason: str
    source: str  # "file" or the administrator who recorded it


def local_day(program: Program, moment: datetime) -> date:
    """T3: the program's calendar day of an aware instant."""
    return moment.astimezone(ZoneInfo(program.time_zone)).date()


def status_at(program: Program, recorded: Sequence[ProgramStatusChange], moment: datetime) -> Status:
    """The state in force at `moment`: the furthest-along state among the file's blocks and the
    recorded changes effective on or before its day (program's zone). Forward only: nothing
    recorded can undo an FDA action the file declares."""
    day = local_day(program, moment)
    best = Status(STATES[0], None, "", "file")
    candidates = [Status(e.state, e.effective_from, e.reason, "file") for e in program.lifecycle]
    candidates += [Status(c.state, c.effective_from, c.reason, c.actor) for c in recorded]
    for s in sorted(candidates, key=lambda s: (s.effective_from or date.min, rank(s.state))):
        if s.effective_from is not None and s.effective_from <= day and rank(s.state) > rank(best.state):
            best = s
    return best


def eliminated_requirement(program: Program, status: Status) -> Requirement:
    return need(status.state != "eliminated", RULE, PROGRAM_ELIMINATED,
                f"program {program.id} is open for writes",
                f"none: program {program.id} was eliminated from {status.effective_from}; its records "
                "stay readable and exportable")


def closed_requirement(program: Program, status: Status) -> Requirement:
    closed = rank(status.state) >= rank("closed_to_new_enrollment")
    return need(not closed, RULE, CLOSED_TO_NEW_ENROLLMENT,
                f"program {program.id} enrolls new patients",
                f"none: program {program.id} is {status.state} from {status.effective_from}; only "
                "persons already enrolled in it continue")


def waive(decision: Decision, name: str, spec: RelaxationSpec | None = None,
          days_supply: int | None = None) -> Decision | None:
    """`decision` allowed by a waiver named `name`, or None when it cannot cover every unmet
    requirement (a relaxation: each must be one it waives, and the supply within its cap)."""
    failures = decision.failures
    if not failures:
        return None
    if decision.stage == "authorize" and any(f.code in NEEDS_QUALIFYING_TEST for f in failures):
        return None
    if spec is not None:
        if days_supply is None or days_supply > spec.max_days_supply:
            return None
        if not all(spec.covers(f.rule, f.code) for f in failures):
            return None
    return Decision(decision.stage, decision.requirements,
                    (*decision.waivers, Waiver(name, tuple(f.code for f in failures))))


def activation_end(spec: RelaxationSpec, activated_at: datetime, hours: int | None) -> datetime:
    """Time-boxed: at most the declared `max_hours` after activation."""
    return activated_at + timedelta(hours=min(hours or spec.max_hours, spec.max_hours))
