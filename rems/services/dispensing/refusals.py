"""Refused gates leave an audit entry (issue 6; R19-R33): who was refused what, when, and why.

A refusal at the pharmacy happens inside a transaction that rolls back, so it is written after the
rollback, in a short transaction of its own: the API and the CLI both get it from the services.
Entries name records by id only (entity "gate", the prescription's id, the pharmacy in `refs`).
"""

from __future__ import annotations

from collections.abc import Sequence

from rems.domain.requirements import Requirement
from rems.metrics import count_refusal
from rems.services.context import Context
from rems.services.lifecycle import audit
from rems.services.ports import UnitOfWork

ENTITY = "gate"
STAGES = ("authorize", "check", "confirm", "dispense")


def trigger_of(stage: str) -> str:
    return f"{stage}_refused"


def record_refusal(uow: UnitOfWork, ctx: Context, stage: str, prescription_id: str,
                   failures: Sequence[Requirement], pharmacy_id: str | None = None,
                   rollback: bool = True) -> None:
    """Roll back `uow` (the refused attempt writes nothing) and audit the refusal on its own.

    A read-only caller (the check) keeps its session: `rollback=False`, unless it runs in a writing
    unit of work, whose write lock (SQLite) the sibling would wait for: the check wrote nothing."""
    if rollback or uow.write:
        uow.rollback()
    with uow.sibling() as side:
        audit(side, ctx, ENTITY, prescription_id, trigger_of(stage), None, None, failures,
              refs={"pharmacy": pharmacy_id} if pharmacy_id else None)
        side.commit()
    count_refusal(failures)  # issue 15 item 4: rems_refusals_total{rule, code}


def note_refusal(uow: UnitOfWork, ctx: Context, stage: str, prescription_id: str,
                 failures: Sequence[Requirement]) -> None:
    """A refusal inside a transaction that commits anyway (an authorization kept pending)."""
    audit(uow, ctx, ENTITY, prescription_id, trigger_of(stage), None, None, failures)
    count_refusal(failures)
