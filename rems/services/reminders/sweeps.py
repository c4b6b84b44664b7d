"""Time-driven expiry (R23, R27), set-based; the gate never depends on this having run."""

from __future__ import annotations

from collections.abc import Callable

from rems.domain.catalogue import (
    ISSUED_PRESCRIPTION_STATES,
    ConfirmationState,
    ConfirmationTrigger,
    PrescriptionState,
    PrescriptionTrigger,
)
from rems.domain.errors import Conflict
from rems.domain.model import Confirmation, Prescription
from rems.services.context import Context
from rems.services.lifecycle import transition
from rems.services.ports import UnitOfWork
from rems.services.reminders import loop


def _expire_confirmation(uow: UnitOfWork, ctx: Context, confirmation_id: str) -> bool:
    confirmation = uow.get(Confirmation, confirmation_id, lock=True)
    if confirmation.state != ConfirmationState.ISSUED or confirmation.expires_at >= ctx.now:
        return False  # someone acted on it since the query: nothing to do
    transition(uow, ctx, "confirmation", confirmation, ConfirmationTrigger.EXPIRE, {"past_expiry": True})
    rx = uow.get(Prescription, confirmation.prescription_id, lock=True)
    loop.not_dispensed(uow, ctx, confirmation, rx, "R27", f"confirmation {confirmation.number} expired unused")
    if rx.state == PrescriptionState.CONFIRMED:
        transition(uow, ctx, "prescription", rx, PrescriptionTrigger.RELEASE)
    return True


def _expire_prescription(uow: UnitOfWork, ctx: Context, prescription_id: str) -> bool:
    rx = uow.get(Prescription, prescription_id, lock=True)
    if rx.state not in ISSUED_PRESCRIPTION_STATES or rx.expires_at is None or rx.expires_at >= ctx.now:
        return False
    live = uow.confirmations.live(rx.id)
    if live is not None:
        transition(uow, ctx, "confirmation", live, ConfirmationTrigger.VOID)
        loop.not_dispensed(uow, ctx, live, rx, "R23", f"authorization {rx.number} expired while confirmation "
                           f"{live.number} was unused")
    transition(uow, ctx, "prescription", rx, PrescriptionTrigger.EXPIRE, {"past_expiry": True})
    return True


def expire_due(uow: UnitOfWork, ctx: Context) -> dict[str, int]:
    """Move authorizations and confirmations past their expiry to `expired`, each audited.

    One record, one transaction: a record a pharmacy is changing at the same moment is skipped
    (the next run takes it) instead of rolling back the whole batch."""
    counts = {"confirmations_expired": 0, "authorizations_expired": 0, "skipped_busy": 0}
    work: list[tuple[str, Callable[[UnitOfWork, Context, str], bool], str]] = [
        ("confirmations_expired", _expire_confirmation, c.id)
        for c in uow.confirmations.issued(expired_before=ctx.now)]
    work += [("authorizations_expired", _expire_prescription, rx.id)
             for rx in uow.prescriptions.matching(states=ISSUED_PRESCRIPTION_STATES, expired_before=ctx.now)]
    uow.rollback()  # end the read transaction before the per-record ones
    for counter, expire, record_id in work:
        try:
            if expire(uow, ctx, record_id):
                uow.commit()
                counts[counter] += 1
            else:
                uow.rollback()
        except Conflict:
            counts["skipped_busy"] += 1
    return counts
