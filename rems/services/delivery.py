"""Deliver one notification (issue 4): claim it, send it through its channel, record the outcome.

Three short transactions around the send, never one open across it. A worker killed between the
send and the outcome leaves the row `sending` under a lease; once the lease ends the relay hands
it out again and it is sent again with the same idempotency key (Message-ID / Idempotency-Key),
so a receiver that honours the key delivers it once. That window (the send took, the outcome was
not written) is the only way a reminder can reach a channel twice; it is bounded by the lease."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping

from rems.adapters.notify.port import Channel, DeliveryError, Message
from rems.domain.model import Notification
from rems.services import notifications
from rems.services.notifications import Claim, Policy
from rems.services.uow import Context, UnitOfWork

# What each reminder says: ids and dates only, never a name or contact detail.
TEXTS = {
    "pregnancy_test_due_soon": "A pregnancy test for patient {subject} is due on {due} (R11).",
    "pregnancy_test_due_today": "A pregnancy test for patient {subject} is due today, {due} (R11).",
    "pregnancy_test_overdue": "The pregnancy test for patient {subject} was due on {due} and is overdue "
                              "(R11): no authorization or dispense until a negative test is recorded.",
    "patient_survey_due_soon": "The patient survey for patient {subject} is due on {due} (R20).",
    "patient_survey_due_today": "The patient survey for patient {subject} is due today, {due} (R20).",
    "patient_survey_overdue": "The patient survey for patient {subject} was due on {due} and is overdue (R20).",
    "prescriber_survey_needed": "Prescription {subject} waits for the prescriber survey (R19) since {due}.",
    "authorization_expiring": "Authorization for prescription {subject} expires on {due} (R23).",
    "authorization_expired": "Authorization for prescription {subject} expired on {due} (R23).",
    "confirmation_expired": "Confirmation {subject} expired unused on {due} (R27); obtain a new one.",
    "refill_window_open": "The next dispense after dispense {subject} may be made from {due} (R28).",
    "ppaf_needed": "Patient {subject} changes risk category on {due}: a new PPAF is needed (R8).",
    "certification_lapsing": "Certification of {subject} lapses on {due}: recertify (R3, R25).",
    "certification_lapsed": "Certification of {subject} lapsed on {due}: recertify (R3, R25).",
}


def idempotency_key(n: Notification) -> str:
    natural = f"{n.recipient}|{n.kind}|{n.subject}|{n.due_on.isoformat()}"
    return hashlib.sha256(natural.encode()).hexdigest()[:40]


def message(claimed: Claim) -> Message:
    n, contact = claimed.notification, claimed.contact
    text = TEXTS.get(n.kind, "Reminder {subject}: due {due}.").format(subject=n.subject, due=n.due_on)
    return Message(n.id, idempotency_key(n), n.kind, n.rule, n.subject, n.due_on.isoformat(), text,
                   email=contact.email if contact else None, phone=contact.phone if contact else None)


def deliver(open_uow: Callable[[], UnitOfWork], channels: Mapping[str, Channel],
            context: Callable[[], Context], notification_id: str, policy: Policy) -> str:
    """One attempt; returns what happened: sent, failed, parked, skipped (not claimable: sent,
    parked, backing off or claimed by a live worker) or lost (the lease ran out mid-send)."""
    with open_uow() as uow:
        claimed = notifications.claim(uow, context(), notification_id, policy)
    if claimed is None:
        return "skipped"
    error: str | None = None
    channel = channels.get(claimed.notification.channel)
    try:
        if channel is None:
            raise DeliveryError(f"channel {claimed.notification.channel} is not configured")
        channel.send(message(claimed))
    except DeliveryError as failure:
        error = str(failure)
    with open_uow() as uow:
        outcome = notifications.finish(uow, context(), claimed, error, policy)
    return outcome or "lost"
