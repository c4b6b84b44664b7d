"""A pharmacy voids the confirmation it holds (R26): the authorization goes back to authorized."""

from __future__ import annotations

from rems.domain.catalogue import (
    ConfirmationTrigger,
    PrescriptionState,
    PrescriptionTrigger,
)
from rems.domain.errors import NotFound
from rems.domain.model import Confirmation, Prescription
from rems.services.context import Context
from rems.services.lifecycle import transition
from rems.services.ports import UnitOfWork
from rems.services.reminders import loop


def void_confirmation(uow: UnitOfWork, ctx: Context, number: str, pharmacy_id: str) -> Confirmation:
    """Void an issued confirmation of this pharmacy, audited; another pharmacy's is not found."""
    found = uow.confirmations.by_number(number)
    if found.pharmacy_id != pharmacy_id:
        raise NotFound("confirmation", number)
    confirmation = uow.get(Confirmation, found.id, lock=True)
    rx = uow.get(Prescription, confirmation.prescription_id, lock=True)
    transition(uow, ctx, "confirmation", confirmation, ConfirmationTrigger.VOID)
    loop.not_dispensed(uow, ctx, confirmation, rx, "R26", f"the pharmacy voided confirmation {confirmation.number}")
    if rx.state == PrescriptionState.CONFIRMED:
        transition(uow, ctx, "prescription", rx, PrescriptionTrigger.RELEASE)
    uow.commit()
    return confirmation
