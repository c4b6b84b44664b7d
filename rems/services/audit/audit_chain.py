"""The audit log as a hash chain (21 CFR Part 11 style): each entry stores the hash of the entry
before it and its own hash over a canonical serialization of its content.

    hash(n) = SHA-256(hash(n-1) || canonical(n))      hash(0) = GENESIS

Issue 14 item 3: a writing transaction never takes the chain's lock. Entries staged by
`lifecycle.audit()` are inserted, unchained, into `audit_pending` as part of the writer's own
transaction (both land or neither does). A sealer (rems/services/audit/audit_sealer.py) then chains the
committed pending entries in short transactions of its own: it locks the one-row
`audit_chain_head`, moves a batch into `audit_log` with sequence numbers and hashes, and moves the
head. `audit_log` itself stays append-only and fully chained; docs/audit.md gives the design and
the bound on how long a committed entry stays unchained.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction

from rems.adapters import commit_hooks
from rems.adapters.database import reading
from rems.adapters.orm import audit_chain_head, audit_log, audit_pending
from rems.domain.model import AuditEntry

GENESIS = "0" * 64
HEAD_ID = 1
# The content an entry's hash covers, in this order; changing it invalidates every stored chain.
FIELDS = ("seq", "at", "actor", "entity", "entity_id", "trigger", "from_state", "to_state", "reasons",
          "request_id", "refs")
_STAGED = FIELDS[1:]  # what a writer stores; the sealer adds the sequence
BATCH = 500  # entries chained per sealing transaction
SEALER = "rems.audit.sealer"  # session.info (from the sessionmaker): who to tell after a commit
_PENDING = "rems.audit.pending"
_WROTE = "rems.audit.wrote"


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
    """Queue an entry to be written when this session commits (dropped on rollback)."""
    pending: list[AuditEntry] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        commit_hooks.add(session, before_commit=_write_pending, after_commit=_committed,
                         after_soft_rollback=_forget_pending)
    pending.append(entry)


def pending_entries(session: Session) -> list[AuditEntry]:
    """The entries staged in this session and not yet committed."""
    return list(session.info.get(_PENDING) or [])


def discard_pending(session: Session) -> None:
    """Drop the staged entries (a rollback does; this also holds before anything was executed)."""
    if session.info.get(_PENDING):
        session.info[_PENDING].clear()


_HEAD_PRESENT = select(audit_chain_head.c.id).where(audit_chain_head.c.id == HEAD_ID)
_STAGE = insert(audit_pending)


def _write_pending(session: Session) -> None:
    pending: list[AuditEntry] = session.info.get(_PENDING) or []
    if not pending:
        return
    # Issue 14 item 3: Core on the transaction's connection (the ORM's execute cost several times
    # more, a profile showed); the session flushes its own changes right after this hook.
    connection = session.connection()
    # Fail closed: with the head of a chain removed, nothing is written that could not be chained.
    if connection.execute(_HEAD_PRESENT).first() is None \
            and connection.execute(select(audit_log.c.id).limit(1)).first() is not None:
        raise RuntimeError("the audit chain head is missing: run `rems audit verify`")
    connection.execute(_STAGE, [{name: getattr(e, name) for name in _STAGED} for e in pending])
    pending.clear()
    session.info[_WROTE] = True


def _committed(session: Session) -> None:
    if session.info.pop(_WROTE, False):
        sealer = session.info.get(SEALER)
        if sealer is not None:
            sealer.committed()


def _forget_pending(session: Session, previous: SessionTransaction) -> None:
    if not previous.nested:
        discard_pending(session)
        session.info.pop(_WROTE, None)


def _lock_head(connection: Connection) -> tuple[int, str]:
    """Take the chain's lock for the rest of the sealing transaction; the head (seq, hash)."""
    t = audit_chain_head.c
    # An UPDATE, not SELECT ... FOR UPDATE: it locks the row on PostgreSQL and holds SQLite's
    # write lock too, so the head read next cannot be stale on either database.
    # Issue 14 item 3: RETURNING reads the head in the same statement (both databases have it).
    head = connection.execute(update(audit_chain_head).where(t.id == HEAD_ID).values(seq=t.seq)
                              .returning(t.seq, t.hash)).first()
    if head is None:
        if connection.execute(select(audit_log.c.id).limit(1)).first() is not None:
            raise RuntimeError("the audit chain head is missing: run `rems audit verify`")
        connection.execute(insert(audit_chain_head).values(id=HEAD_ID, seq=0, hash=GENESIS))
        return 0, GENESIS
    return int(head.seq), str(head.hash)


def seal(engine: Engine, limit: int = BATCH, probe: bool = True) -> int:
    """Chain up to `limit` committed pending entries, oldest first, in one transaction; how many.
    `probe`: look first with a plain read and take no lock if nothing is pending (an idle sealer);
    a sealer told of a commit that wrote entries knows there are some and skips that look."""
    if probe:
        with reading(engine).connect() as connection:  # idle: a read, no lock, on either database
            if connection.execute(select(audit_pending.c.id).limit(1)).first() is None:
                return 0
    for attempt in (1, 2):
        try:
            return _seal_batch(engine, limit)
        except IntegrityError:  # two first sealers created the head at once: the other one won
            if attempt == 2:
                raise
    return 0


def _seal_batch(engine: Engine, limit: int) -> int:
    p = audit_pending.c
    with engine.begin() as connection:
        seq, prev = _lock_head(connection)
        rows = connection.execute(select(audit_pending).order_by(p.id).limit(limit)).mappings().all()
        if not rows:
            return 0
        chained = []
        for row in rows:
            seq += 1
            content = {**{name: row[name] for name in _STAGED}, "seq": seq}
            digest = entry_hash(prev, content)
            chained.append({**content, "prev_hash": prev, "hash": digest})
            prev = digest
        connection.execute(insert(audit_log), chained)
        connection.execute(delete(audit_pending).where(p.id.in_([row["id"] for row in rows])))
        connection.execute(update(audit_chain_head).where(audit_chain_head.c.id == HEAD_ID)
                           .values(seq=seq, hash=prev))
        return len(rows)


def seal_all(engine: Engine, probe: bool = True) -> int:
    """Chain every entry committed before this call (and any committed meanwhile); how many."""
    total = 0
    while (sealed := seal(engine, probe=probe)) > 0:
        total += sealed
        if sealed < BATCH:
            break
        probe = False  # a full batch: more are likely pending
    return total
