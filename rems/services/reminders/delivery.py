"""Deliver notifications (issue 4, issue 14 item 7): claim a batch, send each through its
channel, record the outcomes.

Two short transactions around the sends, never one open across them. A worker killed between a
send and the batch's outcomes leaves its rows `sending` under a lease; once the lease ends the
relay hands them out again and they are sent again with the same idempotency key (Message-ID /
Idempotency-Key), so a receiver that honours the key delivers each once. That window (the send
took, the outcome was not written) is the only way a reminder can reach a channel twice; it is
bounded by the lease and covers at most the rows of one batch sent before the kill."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

from rems.domain.delivery import Channel, DeliveryError, Message
from rems.domain.model import Notification
from rems.i18n import N_, format_day, gettext
from rems.services.context import Context
from rems.services.ports import UnitOfWork
from rems.services.reminders import notifications
from rems.services.reminders.notifications import Claim, Policy

# What each reminder says: ids and dates only, never a name or contact detail. Issue 18 item 5:
# each text is a gettext msgid (rems/locales), translated into the policy's locale when sent.
TEXTS = {
    "pregnancy_test_due_soon": N_("A pregnancy test for patient {subject} is due on {due} (R11)."),
    "pregnancy_test_due_today": N_("A pregnancy test for patient {subject} is due today, {due} (R11)."),
    "pregnancy_test_overdue": N_("The pregnancy test for patient {subject} was due on {due} and is overdue "
                              "(R11): no authorization or dispense until a negative test is recorded."),
    "lab_test_due_soon": N_("The lab tests for patient {subject} are due on {due}."),
    "lab_test_due_today": N_("The lab tests for patient {subject} are due today, {due}."),
    "lab_test_overdue": N_("The lab tests for patient {subject} were due on {due} and are overdue: the program "
                           "may refuse the next authorization or dispense until they are recorded."),
    "patient_survey_due_soon": N_("The patient survey for patient {subject} is due on {due} (R20)."),
    "patient_survey_due_today": N_("The patient survey for patient {subject} is due today, {due} (R20)."),
    "patient_survey_overdue": N_("The patient survey for patient {subject} was due on {due} and is overdue (R20)."),
    "prescriber_survey_needed": N_("Prescription {subject} waits for the prescriber survey (R19) since {due}."),
    "authorization_expiring": N_("Authorization for prescription {subject} expires on {due} (R23)."),
    "authorization_expired": N_("Authorization for prescription {subject} expired on {due} (R23)."),
    "confirmation_expired": N_("Confirmation {subject} expired unused on {due} (R27); obtain a new one."),
    "refill_window_open": N_("The next dispense after dispense {subject} may be made from {due} (R28)."),
    "ppaf_needed": N_("Patient {subject} changes risk category on {due}: a new PPAF is needed (R8)."),
    "certification_lapsing": N_("Certification of {subject} lapses on {due}: recertify (R3, R25)."),
    "certification_lapsed": N_("Certification of {subject} lapsed on {due}: recertify (R3, R25)."),
    # Issue 16 item 5 (rems/services/reminders/loop.py): the body sent is the stored Communication or RxFill.
    "denial_communication": N_("The prescriber's system is told that prescription {subject} was refused on {due} (R19)."),
    "not_dispensed_communication": N_("The prescriber's system is told that confirmation {subject} ended "
                                   "on {due} without a dispense."),
    "not_dispensed_rxfill": N_("RxFill NotDispensed for confirmation {subject} ({due}) to the prescriber's system."),
}

KINDS = {  # what each reminder is about, for the email's Subject line
    "pregnancy_test_due_soon": N_("pregnancy test due soon"),
    "pregnancy_test_due_today": N_("pregnancy test due today"),
    "pregnancy_test_overdue": N_("pregnancy test overdue"),
    "lab_test_due_soon": N_("lab tests due soon"),
    "lab_test_due_today": N_("lab tests due today"),
    "lab_test_overdue": N_("lab tests overdue"),
    "patient_survey_due_soon": N_("patient survey due soon"),
    "patient_survey_due_today": N_("patient survey due today"),
    "patient_survey_overdue": N_("patient survey overdue"),
    "prescriber_survey_needed": N_("prescriber survey needed"),
    "authorization_expiring": N_("authorization expiring"),
    "authorization_expired": N_("authorization expired"),
    "confirmation_expired": N_("confirmation expired"),
    "refill_window_open": N_("refill window open"),
    "ppaf_needed": N_("new PPAF needed"),
    "certification_lapsing": N_("certification lapsing"),
    "certification_lapsed": N_("certification lapsed"),
    "denial_communication": N_("denial sent to the prescriber's system"),
    "not_dispensed_communication": N_("not-dispensed notice sent to the prescriber's system"),
    "not_dispensed_rxfill": N_("RxFill NotDispensed sent to the prescriber's system"),
}


def idempotency_key(n: Notification) -> str:
    natural = f"{n.recipient}|{n.kind}|{n.subject}|{n.due_on.isoformat()}"
    return hashlib.sha256(natural.encode()).hexdigest()[:40]


OTHER = N_("Reminder {subject}: due {due}.")
TITLE = N_("REMS reminder ({rule}): {what}")  # the email's Subject line


def message(claimed: Claim, locale: str = "en") -> Message:
    """The reminder in `locale` (Policy.locale, REMS_DEFAULT_LOCALE): text, subject line and due
    day (a calendar day in the patient's zone, T1) as that language writes them."""
    n, contact = claimed.notification, claimed.contact
    due = format_day(n.due_on, locale)
    text = gettext(locale, TEXTS.get(n.kind, OTHER)).format(subject=n.subject, due=due)
    what = gettext(locale, KINDS[n.kind]) if n.kind in KINDS else n.kind.replace("_", " ")
    return Message(n.id, idempotency_key(n), n.kind, n.rule, n.subject, n.due_on.isoformat(), text,
                   email=contact.email if contact else None, phone=contact.phone if contact else None,
                   title=gettext(locale, TITLE).format(rule=n.rule, what=what), locale=locale)


def _attempt(channels: Mapping[str, Channel], claimed: Claim, locale: str = "en") -> str | None:
    """Send one claimed row; None when the channel took it, else the error."""
    channel = channels.get(claimed.notification.channel)
    try:
        if channel is None:
            raise DeliveryError(f"channel {claimed.notification.channel} is not configured")
        channel.send(message(claimed, locale))
    except DeliveryError as failure:
        return str(failure)
    return None


def deliver_batch(open_uow: Callable[[], UnitOfWork], channels: Mapping[str, Channel],
                  context: Callable[[], Context], notification_ids: Sequence[str],
                  policy: Policy) -> dict[str, str]:
    """One attempt for each row of the batch: claimed in one transaction, sent one after another,
    outcomes in one transaction. A claimed row whose lease has less than `policy.send_budget` left
    when its turn comes is not sent but handed back (pending), so no lease ends during a send.
    Returns each id's outcome: sent, failed, parked, pending (handed back), skipped (not
    claimable: sent, parked, backing off or claimed by a live worker) or lost (the lease ran out
    mid-send)."""
    with open_uow() as uow:
        claims = notifications.claim_batch(uow, context(), notification_ids, policy)
    outcomes: list[tuple[Claim, str | None]] = []
    released: list[Claim] = []
    for claimed in claims:
        if released or context().now + policy.send_budget >= claimed.lease_until:
            released.append(claimed)
        else:
            outcomes.append((claimed, _attempt(channels, claimed, policy.locale)))
    states: dict[str, str | None] = {}
    if claims:
        with open_uow() as uow:
            states = notifications.finish_batch(uow, context(), outcomes, policy, released)
    return {notification_id: "skipped" if notification_id not in states else states[notification_id] or "lost"
            for notification_id in dict.fromkeys(notification_ids)}


def deliver(open_uow: Callable[[], UnitOfWork], channels: Mapping[str, Channel],
            context: Callable[[], Context], notification_id: str, policy: Policy) -> str:
    """One attempt for one row (a batch of one); returns its outcome as deliver_batch does."""
    return deliver_batch(open_uow, channels, context, [notification_id], policy)[notification_id]
