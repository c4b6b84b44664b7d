"""The reminder outbox (issue 4): record at most once per natural key, claim, finish, park, retry
(the SQL: rems/adapters/outbox.py, through uow.outbox).

A row moves pending -> sending -> sent, or -> failed (retried after a backoff) -> ... -> parked
after the last attempt (rems.services.reminders.claims, in batches); `retry` puts a parked row back to
pending. Every move is a compare-and-set UPDATE on (id, state, claim token), so two workers, a
redelivered task or an overlapping relay can never both send one row."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from rems.adapters.uow import UnitOfWork
from rems.domain.errors import Conflict, InvalidInput, NotFound
from rems.domain.model import Contact, Notification, Patient, Pharmacy, Prescriber
from rems.services.context import Context
from rems.services.lifecycle import audit, new_id
from rems.services.reminders.claims import Claim as Claim  # re-exported: the outbox's one import
from rems.services.reminders.claims import Policy as Policy
from rems.services.reminders.claims import claim as claim
from rems.services.reminders.claims import claim_batch as claim_batch
from rems.services.reminders.claims import finish as finish
from rems.services.reminders.claims import finish_batch as finish_batch

STATES = ("pending", "sending", "sent", "failed", "parked")
RECIPIENT_KINDS = ("patient", "prescriber", "pharmacy")


@dataclass(frozen=True)
class Reminder:
    """What the sweep decided is due; (recipient, kind, subject, due_on) is its natural key."""

    recipient: str
    kind: str
    subject: str
    due_on: date
    rule: str


def contacts(uow: UnitOfWork, recipients: Iterable[str]) -> dict[str, Contact]:
    """The recipients' contacts (uow.outbox: one `= ANY(array)` query on PostgreSQL)."""
    return uow.outbox.contacts(recipients)


def channel_for(contact: Contact | None, available: frozenset[str]) -> str:
    """Email if the recipient has an address and SMTP is configured, else the messaging webhook
    if they have a phone number and it is configured, else the outbox (staff read it)."""
    if contact is not None and contact.email and "email" in available:
        return "email"
    if contact is not None and contact.phone and "webhook" in available:
        return "webhook"
    return "outbox"


def record(uow: UnitOfWork, ctx: Context, reminders: Sequence[Reminder],
           available: frozenset[str]) -> int:
    """Insert the reminders not yet recorded (by natural key); the caller commits. Returns how
    many are new: a second sweep over the same day records nothing."""
    if not reminders:
        return 0
    known = contacts(uow, (r.recipient for r in reminders))
    rows = [{"id": new_id("ntf"), "recipient": r.recipient, "kind": r.kind, "subject": r.subject,
             "due_on": r.due_on, "rule": r.rule, "channel": channel_for(known.get(r.recipient), available),
             "state": "pending", "attempts": 0, "created_at": ctx.now, "next_attempt_at": ctx.now}
            for r in {(r.recipient, r.kind, r.subject, r.due_on): r for r in reminders}.values()]
    return uow.outbox.insert_new(rows)


def to_enqueue(uow: UnitOfWork, ctx: Context, policy: Policy, limit: int = 5000) -> list[str]:
    """The relay: rows ready to send (new, a failed one whose backoff ran out, or a send whose
    claim lease expired), not handed to the broker within the last lease. Marks them enqueued and
    commits, so only then does the caller publish: nothing is published for an uncommitted row,
    and a publish lost after the commit is published again one lease later."""
    ids = uow.outbox.mark_enqueued(ctx.now, policy.lease, limit)
    uow.commit()
    return ids


def listing(uow: UnitOfWork, ctx: Context, state: str | None = None, recipient: str | None = None,
            limit: int = 100, offset: int = 0) -> list[Notification]:
    """The outbox, newest first, filtered by state and recipient."""
    if state is not None and state not in STATES:
        raise InvalidInput("state", f"must be one of {', '.join(STATES)}")
    return uow.outbox.listing(state, recipient, limit, offset)


def parked(uow: UnitOfWork, ctx: Context, limit: int = 100, offset: int = 0) -> list[Notification]:
    return listing(uow, ctx, "parked", None, limit, offset)


def retry(uow: UnitOfWork, ctx: Context, notification_id: str) -> Notification:
    """Put a parked notification back to pending with a fresh set of attempts (audited)."""
    n = uow.get(Notification, notification_id)
    if n.state != "parked":
        raise Conflict(f"notification {n.id} is {n.state}; only a parked one can be retried")
    if not uow.outbox.unpark(n, ctx.now):
        raise Conflict(f"notification {n.id} changed meanwhile; retry")
    audit(uow, ctx, "notification", n.id, "retry", "parked", "pending")
    uow.outbox.refresh(n)
    uow.commit()
    return n


def set_contact(uow: UnitOfWork, ctx: Context, recipient: str, email: str | None,
                phone: str | None) -> Contact:
    """Where a recipient's reminders go (kept out of logs and audit rows)."""
    kind, _, key = recipient.partition(":")
    if kind not in RECIPIENT_KINDS or not key:
        raise InvalidInput("recipient", "must be patient:ID, prescriber:ID or pharmacy:ID")
    if email is not None and ("@" not in email or len(email) > 254 or any(c.isspace() for c in email)):
        raise InvalidInput("email", "must be an email address")
    if phone is not None and not (phone.startswith("+") and phone[1:].isdigit() and 8 <= len(phone) <= 16):
        raise InvalidInput("phone", "must be in E.164 form, e.g. +15551234567")
    record_cls: type[Patient | Prescriber | Pharmacy] = {
        "patient": Patient, "prescriber": Prescriber, "pharmacy": Pharmacy}[kind]
    uow.get(record_cls, key)  # NotFound for an unknown record
    contact = uow.outbox.contact(recipient)
    if contact is None:
        contact = Contact(recipient=recipient, updated_at=ctx.now)
        uow.add(contact)
    contact.email, contact.phone, contact.updated_at = email, phone, ctx.now
    audit(uow, ctx, kind, key, "contact_changed", None, None)
    uow.commit()
    return contact


def get(uow: UnitOfWork, ctx: Context, notification_id: str) -> Notification:
    try:
        return uow.get(Notification, notification_id)
    except NotFound:
        raise NotFound("notification", notification_id) from None
