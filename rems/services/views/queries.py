"""Read-only use cases for the API: an actor's own record, and the audit trail of any record."""

from __future__ import annotations

from collections.abc import Sequence

from rems.domain.errors import NotFound
from rems.domain.model import AuditEntry, Certification, Pharmacy, Prescriber
from rems.services.context import Context
from rems.services.ports import UnitOfWork


def prescriber(uow: UnitOfWork, ctx: Context, prescriber_id: str) -> tuple[Prescriber, Sequence[Certification]]:
    """The prescriber and its certification in each program (R1, R3)."""
    return uow.get(Prescriber, prescriber_id), uow.certifications.matching("prescriber", [prescriber_id])


def pharmacy(uow: UnitOfWork, ctx: Context, pharmacy_id: str) -> tuple[Pharmacy, Sequence[Certification]]:
    """The pharmacy and its certification in each program (R25)."""
    return uow.get(Pharmacy, pharmacy_id), uow.certifications.matching("pharmacy", [pharmacy_id])


def audit_trail(uow: UnitOfWork, ctx: Context, entity: str, entity_id: str) -> Sequence[AuditEntry]:
    """Oldest first; every record is audited from its creation, so an empty trail means no record."""
    trail = uow.audit_trails.of(entity, entity_id)
    if not trail:
        raise NotFound(entity, entity_id)
    return trail
