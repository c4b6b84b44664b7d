"""The audit chain's rows (issue 6; issue 14 item 3; docs/audit.md): staging, sealing, the head.

Issue 14 item 3: a writing transaction never takes the chain's lock. Entries staged by
`lifecycle.audit()` are inserted, unchained, into `audit_pending` as part of the writer's own
transaction (both land or neither does). A sealer (rems/services/audit/audit_sealer.py) then chains the
committed pending entries in short transactions of its own: it locks the one-row
`audit_chain_head`, moves a batch into `audit_log` with sequence numbers and hashes, and moves the
head. `audit_log` itself stays append-only and fully chained; docs/audit.md gives the design and
the bound on how long a committed entry stays unchained. The hash itself is
rems/domain/audit_chain.py's (pure).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction

from rems.adapters import commit_hooks
from rems.adapters.database import reading
from rems.adapters.orm import audit_chain_head, audit_log, audit_pending
from rems.domain.audit_chain import GENESIS, STAGED, entry_hash
from rems.domain.model import AuditEntry

if TYPE_CHECKING:
    from rems.adapters.uow import UnitOfWork

HEAD_ID = 1
_STAGED = STAGED  # what a writer stores; the sealer adds the sequence
BATCH = 500  # entries chained per sealing transaction
SEALER = "rems.audit.sealer"  # session.info (from the sessionmaker): who to tell after a commit
_PENDING = "rems.audit.pending"
_WROTE = "rems.audit.wrote"


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


class Sealing:
    """The sealer's store (rems.services.ports.audit.Sealing): chains on one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def seal_all(self, probe: bool = True) -> int:
        return seal_all(self.engine, probe=probe)


class AuditChain:
    """`uow.audit` (rems.services.ports.audit.AuditLog): this unit of work's entries and the chain."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def pending(self) -> list[AuditEntry]:
        return pending_entries(self._uow.session)

    def discard_pending(self) -> None:
        discard_pending(self._uow.session)

    def seal_committed(self) -> None:
        """Issue 14 item 3: chain what writers committed so far (this process's sealer, if any)."""
        sealer = self._uow.session.info.get(SEALER)
        if sealer is not None:
            with suppress(RuntimeError, IntegrityError):  # a removed head, a forged sequence: the
                sealer.drain()  # walk reports where

    def head(self) -> tuple[int, str] | None:
        t = audit_chain_head.c
        row = self._uow.session.execute(select(t.seq, t.hash).where(t.id == HEAD_ID)).first()
        return (int(row.seq), str(row.hash)) if row else None

    @contextmanager
    def walk(self) -> Iterator[Iterable[Mapping[Any, Any]]]:
        """Every entry in one statement, so one snapshot, ordered by sequence."""
        t = audit_log.c
        query = select(audit_log).order_by(t.seq.is_(None), t.seq, t.id).execution_options(yield_per=500)
        result = self._uow.session.execute(query)
        try:
            yield result.mappings()
        finally:
            result.close()  # on PostgreSQL a server-side cursor, left open by an early return

    def in_order(self) -> Iterable[Mapping[Any, Any]]:
        """Every entry by sequence (the proof of a copy compares them with the export)."""
        t = audit_log.c
        return self._uow.session.execute(select(audit_log).order_by(t.seq)).mappings()
