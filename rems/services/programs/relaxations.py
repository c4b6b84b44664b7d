"""Issue 17 item 5: declared relaxations for degraded operation. One administrator activates a
relaxation the program file declares, a different one approves it; it is in force until its time
box ends or it is revoked; each decision it allows is audited and listed (program_status.uses)."""

from __future__ import annotations

from collections.abc import Sequence

from rems.domain import lifecycle
from rems.domain.errors import InvalidInput, NotFound, Refused
from rems.domain.lifecycle import RelaxationActivation
from rems.domain.model import Prescription
from rems.domain.requirements import Decision, need
from rems.services.context import Context
from rems.services.lifecycle import audit, new_id
from rems.services.ports import UnitOfWork
from rems.services.programs import program_status
from workflows.relaxations import RelaxationSpec

ENTITY = "relaxation"
RULE = "L2"  # docs/lifecycle.md: declared relaxations (PROGRAMS.md "Degraded operation")


def _refuse(action: str, code: str, message: str, remedy: str) -> Refused:
    return Refused(action, [need(False, RULE, code, message, remedy)])


def declared(uow: UnitOfWork, program_id: str, name: str) -> RelaxationSpec:
    """Only a relaxation the program file declares can be activated."""
    for spec in uow.program(program_id).relaxations:
        if spec.name == name:
            return spec
    raise _refuse("activate relaxation", "RELAXATION_NOT_DECLARED",
                  f"{program_id} declares a relaxation named {name!r}",
                  "only the [[relaxations]] of the program file can be activated")


def activations(uow: UnitOfWork, ctx: Context, program_id: str) -> Sequence[RelaxationActivation]:
    uow.program(program_id)
    return uow.relaxations.activations(program_id)


def activate(uow: UnitOfWork, ctx: Context, program_id: str, name: str, reason: str,
             hours: int | None = None) -> RelaxationActivation:
    spec = declared(uow, program_id, name)
    if not reason.strip():
        raise InvalidInput("reason", "required text (why the program's systems cannot be used)")
    if hours is not None and not 0 < hours <= spec.max_hours:
        raise InvalidInput("hours", f"must be between 1 and {spec.max_hours} (the declared max_hours)")
    program_status.refuse_if_eliminated(uow, ctx, program_id, "activate relaxation")
    act = RelaxationActivation(id=new_id("rlx"), program_id=program_id, name=name, reason=reason.strip(),
                               activated_by=ctx.actor, activated_at=ctx.now,
                               ends_at=lifecycle.activation_end(spec, ctx.now, hours))
    uow.add(act)
    audit(uow, ctx, ENTITY, act.id, "activate", None, "pending_approval",
          refs={"program": program_id, "name": name, "ends_at": act.ends_at.isoformat(), "reason": act.reason})
    uow.commit()
    return act


def _activation(uow: UnitOfWork, program_id: str, activation_id: str) -> RelaxationActivation:
    act = uow.get(RelaxationActivation, activation_id, lock=True)
    if act.program_id != program_id:
        raise NotFound("relaxation activation", activation_id)  # never another program's
    return act


def approve(uow: UnitOfWork, ctx: Context, program_id: str, activation_id: str) -> RelaxationActivation:
    """Two administrators: the one who activated cannot approve (409 RELAXATION_SAME_ADMINISTRATOR)."""
    act = _activation(uow, program_id, activation_id)
    if act.approved_at is not None or act.revoked_at is not None:
        raise _refuse("approve relaxation", "RELAXATION_NOT_PENDING", f"activation {act.id} awaits approval",
                      "activate the relaxation again")
    if act.activated_by == ctx.actor:
        raise _refuse("approve relaxation", "RELAXATION_SAME_ADMINISTRATOR",
                      "approved by an administrator other than the one who activated it",
                      "a second administrator approves it")
    if ctx.now >= act.ends_at:
        raise _refuse("approve relaxation", "RELAXATION_EXPIRED", f"activation {act.id} is within its time box",
                      "activate the relaxation again")
    act.approved_by, act.approved_at = ctx.actor, ctx.now
    audit(uow, ctx, ENTITY, act.id, "approve", "pending_approval", "in_force", refs={"program": program_id})
    uow.commit()
    return act


def revoke(uow: UnitOfWork, ctx: Context, program_id: str, activation_id: str) -> RelaxationActivation:
    act = _activation(uow, program_id, activation_id)
    if act.revoked_at is not None:
        raise _refuse("revoke relaxation", "RELAXATION_REVOKED", f"activation {act.id} is not revoked",
                      "nothing to do")
    before = "in_force" if act.approved_at else "pending_approval"
    act.revoked_by, act.revoked_at = ctx.actor, ctx.now
    audit(uow, ctx, ENTITY, act.id, "revoke", before, "revoked", refs={"program": program_id})
    uow.commit()
    return act


def apply(uow: UnitOfWork, ctx: Context, stage: str, rx: Prescription, decision: Decision,
          record: bool) -> Decision:
    """A refused decision allowed by the first relaxation in force that covers every unmet
    requirement within its days-supply cap; otherwise `decision` unchanged (still refused)."""
    program = uow.program(rx.program_id)
    specs = {s.name: s for s in program.relaxations}
    if not specs:
        return decision
    for act in activations(uow, ctx, rx.program_id):
        spec = specs.get(act.name)
        if spec is None or not act.in_force(ctx.now):
            continue
        waived = lifecycle.waive(decision, spec.name, spec, rx.days_supply)
        if waived is not None:
            if record:
                program_status.record_allowance(uow, ctx, stage, rx, waived, act.id)
            return waived
    return decision
