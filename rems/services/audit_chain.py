"""The audit log as a hash chain (21 CFR Part 11 style): each entry stores the hash of the entry
before it and its own hash over a canonical serialization of its content.

    hash(n) = SHA-256(hash(n-1) || canonical(n))      hash(0) = GENESIS

Entries are staged by `lifecycle.audit()` and chained in the commit's last moment: the rest of the
transaction is flushed first, then the one-row `audit_chain_head` is locked (a row lock on
PostgreSQL, the write lock on SQLite), the entries get their sequence numbers and hashes, and the
head moves. Two transactions can therefore never fork the chain, and the head lock is held only
while the audit rows themselves are written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, insert, select, update
from sqlalchemy.orm import Session, SessionTransaction

from rems.adapters.orm import audit_chain_head, audit_log
from rems.domain.model import AuditEntry

GENESIS = "0" * 64
HEAD_ID = 1
# The content an entry's hash covers, in this order; changing it invalidates every stored chain.
FIELDS = ("seq", "at", "actor", "entity", "entity_id", "trigger", "from_state", "to_state", "reasons",
          "request_id", "refs")
_PENDING = "rems.audit.pending"


def _moment(value: Any) -> Any:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def canonical(content: Mapping[str, Any]) -> bytes:
    """Sorted-key compact JSON of the FIELDS, timestamps as UTC ISO 8601 with microseconds."""
    document = {name: _moment(content.get(name)) for name in FIELDS}
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      default=str).encode("ascii")


def entry_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(content)).hexdigest()


def content_of(entry: AuditEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in FIELDS}


def stage(session: Session, entry: AuditEntry) -> None:
    """Queue an entry to be chained and written when this session commits (dropped on rollback)."""
    pending: list[AuditEntry] = session.info.setdefault(_PENDING, [])
    if not event.contains(session, "before_commit", _chain_pending):
        # Registered on the session itself, so it runs after any listener of its sessionmaker.
        event.listen(session, "before_commit", _chain_pending)
        event.listen(session, "after_soft_rollback", _forget_pending)
    pending.append(entry)


def pending_entries(session: Session) -> list[AuditEntry]:
    """The entries staged in this session and not yet committed."""
    return list(session.info.get(_PENDING) or [])


def discard_pending(session: Session) -> None:
    """Drop the staged entries (a rollback does; this also holds before anything was executed)."""
    session.info[_PENDING] = []


def lock_head(session: Session) -> tuple[int, str]:
    """Take the chain's write lock for the rest of the transaction; the head (seq, hash)."""
    t = audit_chain_head.c
    # An UPDATE, not SELECT ... FOR UPDATE: it locks the row on PostgreSQL and takes SQLite's
    # write lock too, so the head read next cannot be stale on either database.
    locked = session.execute(update(audit_chain_head).where(t.id == HEAD_ID).values(seq=t.seq))
    if getattr(locked, "rowcount", 1) == 0:
        chained = session.execute(select(audit_log.c.id).where(audit_log.c.seq.is_not(None)).limit(1))
        if chained.first() is not None:  # fail closed: someone removed the head of a chain
            raise RuntimeError("the audit chain head is missing: run `rems audit verify`")
        session.execute(insert(audit_chain_head).values(id=HEAD_ID, seq=0, hash=GENESIS))
    seq, last = session.execute(select(t.seq, t.hash).where(t.id == HEAD_ID)).one()
    return int(seq), str(last)


def _chain_pending(session: Session) -> None:
    pending: list[AuditEntry] = session.info.get(_PENDING) or []
    if not pending:
        return
    session.flush()  # the transaction's own rows first: the head lock comes last and stays short
    seq, prev = lock_head(session)
    for entry in pending:
        seq += 1
        entry.seq, entry.prev_hash = seq, prev
        entry.hash = prev = entry_hash(prev, content_of(entry))
        session.add(entry)
    session.flush()
    t = audit_chain_head.c
    session.execute(update(audit_chain_head).where(t.id == HEAD_ID).values(seq=seq, hash=prev))
    session.info[_PENDING] = []


def _forget_pending(session: Session, previous: SessionTransaction) -> None:
    if not previous.nested:
        session.info[_PENDING] = []
