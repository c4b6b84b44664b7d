"""Time-driven expiry (R23, R27), set-based; the gate never depends on this having run."""

from __future__ import annotations

from rems.domain.model import Prescription
from rems.services.lifecycle import transition
from rems.services.uow import Context, UnitOfWork


def expire_due(uow: UnitOfWork, ctx: Context) -> dict[str, int]:
    """Move authorizations and confirmations past their expiry to `expired`, each audited."""
    stale_confirmations = uow.confirmations(expired_before=ctx.now)
    for confirmation in stale_confirmations:
        transition(uow, ctx, "confirmation", confirmation, "expire", {"past_expiry": True})
        rx = uow.get(Prescription, confirmation.prescription_id)
        if rx.state == "confirmed":
            transition(uow, ctx, "prescription", rx, "release")
    stale_rx = uow.prescriptions(states=("authorized", "confirmed"), expired_before=ctx.now)
    for rx in stale_rx:
        live = uow.live_confirmation(rx.id)
        if live is not None:
            transition(uow, ctx, "confirmation", live, "void")
        transition(uow, ctx, "prescription", rx, "expire", {"past_expiry": True})
    uow.commit()
    return {"confirmations_expired": len(stale_confirmations), "authorizations_expired": len(stale_rx)}
