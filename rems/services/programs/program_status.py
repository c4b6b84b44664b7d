"""Issue 17 item 4: a program's lifecycle state, recorded by an administrator (audited) on top of
what the program file declares, and its effects: closed (no new person enrolls), enforcement
discretion (the gate allows and records what it would refuse), eliminated (every write refused)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from rems.domain import lifecycle
from rems.domain.errors import InvalidInput, Refused
from rems.domain.lifecycle import DISCRETION, ProgramStatusChange, Status, WaiverUse
from rems.domain.model import Prescription
from rems.domain.requirements import Decision, need
from rems.services.context import Context
from rems.services.lifecycle import audit, new_id
from rems.services.ports import UnitOfWork
from workflows.lifecycle import STATES, rank

ENTITY = "program"
WRITES = ("authorize", "confirm", "dispense")  # the gate stages that write (the check only reads)
# The audit log's states are short (20 characters): the full state is in the entry's refs.
_SHORT = {"closed_to_new_enrollment": "closed", "enforcement_discretion": "discretion"}


def changes(uow: UnitOfWork, program_id: str) -> Sequence[ProgramStatusChange]:
    # Issue 14 item 3: every confirmation and dispense reads these; read-only records, no ORM load.
    return uow.program_records.status_changes(program_id)


def status(uow: UnitOfWork, ctx: Context, program_id: str) -> Status:
    return lifecycle.status_at(uow.program(program_id), changes(uow, program_id), ctx.now)


def describe(uow: UnitOfWork, ctx: Context, program_id: str) -> dict[str, Any]:
    """What the status route and `rems program status` show: the state now, the file's blocks,
    the recorded changes (scheduled ones too) and the declared relaxations."""
    program = uow.program(program_id)
    now = status(uow, ctx, program_id)
    return {
        "program": program.id, "state": now.state,
        "effective_from": now.effective_from.isoformat() if now.effective_from else None,
        "reason": now.reason, "source": now.source,
        "declared": [{"state": e.state, "effective_from": e.effective_from.isoformat(), "reason": e.reason}
                     for e in program.lifecycle],
        "recorded": [{"id": c.id, "state": c.state, "effective_from": c.effective_from.isoformat(),
                      "reason": c.reason, "actor": c.actor, "recorded_at": c.recorded_at.isoformat()}
                     for c in changes(uow, program_id)],
        "relaxations": [{"name": r.name, "description": r.description, "waives": sorted(r.waives),
                         "max_days_supply": r.max_days_supply, "max_hours": r.max_hours}
                        for r in program.relaxations],
    }


def record_change(uow: UnitOfWork, ctx: Context, program_id: str, state: str, effective_from: date,
                  reason: str) -> ProgramStatusChange:
    """An administrator records a lifecycle change (forward only, effective-dated, audited)."""
    program = uow.program(program_id)
    if state not in STATES[1:]:
        raise InvalidInput("state", f"must be one of {', '.join(STATES[1:])}")
    if not reason.strip():
        raise InvalidInput("reason", "required text")
    if effective_from < lifecycle.local_day(program, ctx.now):
        raise InvalidInput("effective_from", "cannot be before today (the program's calendar, T3)")
    start = datetime.combine(effective_from, time(), ZoneInfo(program.time_zone))  # T3
    then = lifecycle.status_at(program, changes(uow, program_id), start)
    if rank(state) <= rank(then.state):
        raise Refused("record program status", [need(
            False, lifecycle.RULE, "LIFECYCLE_NOT_FORWARD", f"{program_id} moves forward from {then.state}",
            f"the lifecycle only moves forward: on {effective_from} it is already {then.state}")])
    change = ProgramStatusChange(id=new_id("pst"), program_id=program_id, state=state,
                                 effective_from=effective_from, reason=reason.strip(), actor=ctx.actor,
                                 recorded_at=ctx.now)
    uow.add(change)
    audit(uow, ctx, ENTITY, program_id, "set_status", _SHORT.get(then.state, then.state),
          _SHORT.get(state, state), refs={"change": change.id, "state": state,
                                          "effective_from": effective_from.isoformat(), "reason": change.reason})
    uow.commit()
    return change


def refuse_if_eliminated(uow: UnitOfWork, ctx: Context, program_id: str, action: str) -> Status:
    """Eliminated: every write for the program is refused (409, LIFECYCLE_PROGRAM_ELIMINATED)."""
    now = status(uow, ctx, program_id)
    requirement = lifecycle.eliminated_requirement(uow.program(program_id), now)
    if not requirement.met:
        raise Refused(action, [requirement])
    return now


def refuse_new_enrollment(uow: UnitOfWork, ctx: Context, program_id: str, person_id: str) -> None:
    """Closed to new enrollment (and after): a person with no enrollment in the program yet is
    refused; a person enrolled in it before (any state, e.g. a re-enrollment) continues."""
    now = refuse_if_eliminated(uow, ctx, program_id, "enroll patient")
    if rank(now.state) < rank("closed_to_new_enrollment") or uow.persons.enrollments(person_id, program_id):
        return
    raise Refused("enroll patient", [lifecycle.closed_requirement(uow.program(program_id), now)])


def record_use(uow: UnitOfWork, ctx: Context, stage: str, program_id: str, prescription_id: str,
               decision: Decision, activation_id: str | None = None) -> None:
    """Each allowance a waiver makes: a row for reconciliation and an audit entry with the failures."""
    waiver = decision.waivers[-1]
    use = WaiverUse(id=new_id("wvu"), program_id=program_id, prescription_id=prescription_id, stage=stage,
                    waiver=waiver.name, codes=list(waiver.codes), actor=ctx.actor, at=ctx.now,
                    activation_id=activation_id)
    uow.add(use)
    refs = {"waiver": waiver.name, "use": use.id, **({"activation": activation_id} if activation_id else {})}
    audit(uow, ctx, "gate", prescription_id, f"{stage}_waived", None, None, decision.failures, refs=refs)


def gate(uow: UnitOfWork, ctx: Context, stage: str, rx: Prescription, decision: Decision,
         record: bool = True) -> Decision:
    """The lifecycle and the declared relaxations applied to a gate decision on `rx` (the one hook
    the prescription services call). Eliminated: a write is refused, a read answers refused.
    Enforcement discretion, or an approved relaxation in force: allowed with a Waiver, each use
    recorded (`record=False`: a status read shows it without recording)."""
    from rems.services.programs import relaxations  # relaxations uses this module's record_allowance
    if stage == "check" and decision.allowed:  # issue 14: an allowed check stays two SELECTs
        now = lifecycle.status_at(uow.program(rx.program_id), (), ctx.now)  # the file's blocks only
    else:
        now = status(uow, ctx, rx.program_id)
    if now.state == "eliminated":
        requirement = lifecycle.eliminated_requirement(uow.program(rx.program_id), now)
        if record and stage in WRITES:
            raise Refused(stage, [requirement])
        return Decision(decision.stage, (*decision.requirements, requirement))
    if decision.allowed:
        return decision
    if now.state == DISCRETION:
        waived = lifecycle.waive(decision, DISCRETION)
        if waived is not None and record:
            record_allowance(uow, ctx, stage, rx, waived, None)
        return waived or decision
    return relaxations.apply(uow, ctx, stage, rx, decision, record)


def record_allowance(uow: UnitOfWork, ctx: Context, stage: str, rx: Prescription, decision: Decision,
                     activation_id: str | None) -> None:
    """A write records its allowance in its own transaction (rolled back with it if it fails).
    The check writes nothing else: its allowance goes in a short transaction of its own, as a
    refused check's audit entry does (rems/services/dispensing/refusals.py), after releasing a writing unit
    of work's lock."""
    ids = (rx.program_id, rx.id)
    if stage in WRITES:
        record_use(uow, ctx, stage, *ids, decision, activation_id)
        return
    if uow.write:
        uow.rollback()
    with uow.sibling() as side:
        record_use(side, ctx, stage, *ids, decision, activation_id)
        side.commit()


def uses(uow: UnitOfWork, ctx: Context, program_id: str, waiver: str | None = None,
         limit: int = 500) -> Sequence[WaiverUse]:
    """The reconciliation list: every allowance a waiver made in the program, oldest first."""
    uow.program(program_id)
    return uow.program_records.waiver_uses(program_id, waiver, limit)
