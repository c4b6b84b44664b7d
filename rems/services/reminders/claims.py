"""Claims and outcomes of the reminder outbox, in batches (issue 4; issue 14 item 7).

One transaction claims a batch (compare-and-set: only rows claimable now are taken, under one
claim token and one lease), one transaction records the batch's outcomes; every sent or parked
row still gets its own audit entry (ids only). A row moves pending -> sending -> sent, or ->
failed (retried after a backoff) -> ... -> parked after the last attempt. The compare-and-set
UPDATEs are rems/adapters/outbox.py's (uow.outbox)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rems.adapters.uow import UnitOfWork
from rems.domain.model import Contact, Notification
from rems.services.context import Context
from rems.services.lifecycle import audit

CHUNK = 500  # ids per IN list (SQLite's bound-parameter limit is far above; plans stay short)


@dataclass(frozen=True)
class Policy:
    """How hard to try: program-independent delivery settings (rems.settings)."""

    max_attempts: int = 5
    backoff: timedelta = timedelta(seconds=60)
    backoff_max: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(seconds=120)
    # The longest one send may take (the channels' time-outs): a claimed row is sent only while
    # its lease has at least this long left, so no lease runs out during a send of this worker.
    send_budget: timedelta = timedelta(seconds=30)
    locale: str = "en"  # issue 18 item 5: the reminders' language (REMS_DEFAULT_LOCALE)

    def delay(self, attempts: int) -> timedelta:
        """Exponential backoff after the `attempts`-th failed attempt, capped."""
        delay: timedelta = self.backoff * 2 ** max(attempts - 1, 0)
        return min(delay, self.backoff_max)


@dataclass(frozen=True)
class Claim:
    notification: Notification
    token: str
    contact: Contact | None

    @property
    def lease_until(self) -> datetime:
        lease = self.notification.lease_until
        assert lease is not None  # a claimed row always has its lease
        return lease


def _chunks(ids: Sequence[str]) -> Iterable[list[str]]:
    unique = list(dict.fromkeys(ids))
    return (unique[start:start + CHUNK] for start in range(0, len(unique), CHUNK))


def claim_batch(uow: UnitOfWork, ctx: Context, notification_ids: Sequence[str], policy: Policy) -> list[Claim]:
    """Take the rows of `notification_ids` claimable now for one send attempt each, in one
    transaction; rows already sent or parked, under another worker's live claim, or backing off
    are left out. Rows whose attempts are used up (a worker killed mid-send each time) are parked
    (audited) instead. Returns the claims in the order of the ids."""
    token = secrets.token_hex(16)
    rows: dict[str, Any] = {}
    for chunk in _chunks(notification_ids):
        # Lock the rows first, in id order, skipping those another transaction holds (another
        # worker claiming an overlapping batch takes them): claims never wait on each other and
        # never deadlock on PostgreSQL; SQLite has one writer at a time and ignores the clause.
        ids = uow.outbox.lock(chunk)
        for parked_id in uow.outbox.park_exhausted(ids, ctx.now, policy.max_attempts):
            audit(uow, ctx, "notification", parked_id, "park", "sending", "parked")
        claimed = uow.outbox.claim(ids, ctx.now, token, ctx.now + policy.lease, policy.max_attempts)
        rows.update((row.id, row) for row in claimed)
    contacts = uow.outbox.contacts_of(_chunks(sorted({row.recipient for row in rows.values()})))
    uow.commit()
    out = []
    for notification_id in dict.fromkeys(notification_ids):
        row = rows.get(notification_id)
        if row is not None:
            out.append(Claim(Notification(**row._asdict()), token, contacts.get(row.recipient)))
    return out


def finish_batch(uow: UnitOfWork, ctx: Context, outcomes: Sequence[tuple[Claim, str | None]],
                 policy: Policy, released: Sequence[Claim] = ()) -> dict[str, str | None]:
    """Record each attempt's outcome (None: sent; else the error) and hand back the `released`
    claims not attempted (their attempt is not counted), in one transaction. Returns each id's
    new state, or None where the claim was lost (its lease ended and another worker took the
    row: that worker's outcome counts)."""
    states: dict[str, str | None] = {claim.notification.id: None for claim, _ in outcomes}
    states.update((claim.notification.id, None) for claim in released)
    by_token: dict[str, list[str]] = {}
    for claim, error in outcomes:
        if error is None:
            by_token.setdefault(claim.token, []).append(claim.notification.id)
    for token, sent_ids in by_token.items():
        for ids in _chunks(sent_ids):
            for sent_id in uow.outbox.mark_sent(ids, token, ctx.now):
                states[sent_id] = "sent"
                audit(uow, ctx, "notification", sent_id, "sent", "sending", "sent")
    for claim, error in outcomes:
        if error is not None:
            states[claim.notification.id] = _failed(uow, ctx, claim, error, policy)
    for claim in released:
        states[claim.notification.id] = _release(uow, ctx, claim)
    uow.commit()
    return states


def _failed(uow: UnitOfWork, ctx: Context, claim: Claim, error: str, policy: Policy) -> str | None:
    attempts = claim.notification.attempts
    if attempts >= policy.max_attempts:
        values: dict[str, Any] = {"state": "parked", "last_error": error[:300]}
    else:
        values = {"state": "failed", "last_error": error[:300], "enqueued_at": None,
                  "next_attempt_at": ctx.now + policy.delay(attempts)}
    if not uow.outbox.end_claim(claim.notification.id, claim.token, values):
        return None
    if values["state"] == "parked":  # sent and parked are what a reviewer asks about; ids only
        audit(uow, ctx, "notification", claim.notification.id, "park", "sending", "parked")
    return str(values["state"])


def _release(uow: UnitOfWork, ctx: Context, claim: Claim) -> str | None:
    """Not attempted (too little lease left): back to pending at once, the attempt not counted."""
    return "pending" if uow.outbox.release(claim.notification.id, claim.token, ctx.now) else None


def claim(uow: UnitOfWork, ctx: Context, notification_id: str, policy: Policy) -> Claim | None:
    """One row (claim_batch of one), or None when it is not claimable now."""
    claims = claim_batch(uow, ctx, [notification_id], policy)
    return claims[0] if claims else None


def finish(uow: UnitOfWork, ctx: Context, claimed: Claim, error: str | None, policy: Policy) -> str | None:
    """One attempt's outcome (finish_batch of one): the new state, or None if the claim was lost."""
    return finish_batch(uow, ctx, [(claimed, error)], policy)[claimed.notification.id]
