"""Contact details at enrollment (issue 18): stored in the enrollment's own transaction, read by
the pages that show them. Never logged, never in an audit entry (only that they were recorded)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from rems.services.commands import PatientContact
from rems.services.context import Context
from rems.services.ports import UnitOfWork


@dataclass(frozen=True)
class Contact:
    phone: str | None = None
    email: str | None = None
    preferred: str | None = None  # "phone" | "sms" | "email"
    guardian_phone: str | None = None  # R6: a minor's guardian
    guardian_email: str | None = None

    @property
    def empty(self) -> bool:
        return not any((self.phone, self.email, self.guardian_phone, self.guardian_email))


def of_patient(cmd: PatientContact | None) -> Contact:
    return Contact() if cmd is None else Contact(**cmd.model_dump())


def record(uow: UnitOfWork, ctx: Context, kind: str, holder_id: str, contact: Contact) -> None:
    """Keep `contact` for the holder just enrolled (nothing when it is empty); the caller commits."""
    if contact.empty:
        return
    uow.contacts.add(kind, holder_id, asdict(contact), ctx.now)


def of(uow: UnitOfWork, kind: str, holder_id: str) -> Contact:
    """The holder's contact details; all empty when none were given."""
    row = uow.contacts.of(kind, holder_id)
    return Contact() if row is None else Contact(**row)
