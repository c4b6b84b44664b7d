"""Read-only use cases for the API: an actor's own record, and the audit trail of any record."""

from __future__ import annotations

from collections.abc import Sequence

from rems.domain.errors import NotFound
from rems.domain.model import AuditEntry, Pharmacy, Prescriber
from rems.services.uow import Context, UnitOfWork


def prescriber(uow: UnitOfWork, ctx: Context, prescriber_id: str) -> Prescriber:
    return uow.get(Prescriber, prescriber_id)


def pharmacy(uow: UnitOfWork, ctx: Context, pharmacy_id: str) -> Pharmacy:
    return uow.get(Pharmacy, pharmacy_id)


def audit_trail(uow: UnitOfWork, ctx: Context, entity: str, entity_id: str) -> Sequence[AuditEntry]:
    """Oldest first; every record is audited from its creation, so an empty trail means no record."""
    trail = uow.audit_trail(entity, entity_id)
    if not trail:
        raise NotFound(entity, entity_id)
    return trail
