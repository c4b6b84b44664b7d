"""The outbox's SQL (issue 19 item 1; issue 4, issue 14 item 7, issue 16 item 5): the reminders'
rows recorded at most once per natural key, the relay's marks, the claims and outcomes as
compare-and-set UPDATEs on (id, state, claim token), the contacts, and the closing-the-loop rows
with their stored bodies. What is claimed, when a row is parked and what is audited is decided
in rems/services/reminders/{notifications,claims,loop}.py (port rems/services/ports/outbox.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from rems.adapters import orm
from rems.adapters.due import among
from rems.domain.model import Contact, Notification

if TYPE_CHECKING:
    from rems.adapters.uow import UnitOfWork

_UNNESTED = ("id", "recipient", "kind", "subject", "due_on", "rule", "channel")
_KEY = ["recipient", "kind", "subject", "due_on"]  # the natural key (unique)


def install(sessions: sessionmaker[Session], key: str, value: Any) -> None:
    """Put `value` in every session's info under `key` (bootstrap: the loop's routes)."""
    info = dict(sessions.kw.get("info") or {})
    info[key] = value
    sessions.configure(info=info)


def _claimable(now: datetime) -> Any:
    t = orm.notifications.c
    return or_(and_(t.state.in_(("pending", "failed")), t.next_attempt_at <= now),
               and_(t.state == "sending", t.lease_until < now))


def _mine(notification_id: str, token: str) -> Any:
    t = orm.notifications.c
    return and_(t.id == notification_id, t.state == "sending", t.claim_token == token)


class Outbox:
    """The outbox's reads and writes, on one unit of work's session (uow.outbox)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def setting(self, key: str) -> Any:
        """What `install` put in the session's info under `key` (None if nothing)."""
        return self.uow.session.info.get(key)

    # -- recording (rems.services.reminders.notifications) -------------------------------------
    def insert_new(self, rows: list[dict[str, Any]]) -> int:
        """Insert, skipping rows whose natural key exists; RETURNING counts only the rows inserted.

        PostgreSQL: one INSERT ... SELECT FROM unnest(arrays), one parameter per column whatever the
        row count (a multi-row VALUES statement costs the driver a parse of every placeholder).
        SQLite: one executemany, which SQLAlchemy's "insertmanyvalues" batches into multi-row INSERTs
        from a statement compiled once."""
        if not rows:
            return 0
        uow = self.uow
        t = orm.notifications
        if uow.session.get_bind().dialect.name == "postgresql":
            first = rows[0]
            constant = {c: value for c, value in first.items() if c not in _UNNESTED}
            if all(row[c] == value for row in rows for c, value in constant.items()):
                arrays = [func.unnest(bindparam(f"u_{c}", [row[c] for row in rows],
                                                type_=postgresql.ARRAY(t.c[c].type))).label(c) for c in _UNNESTED]
                constants = [literal(value, t.c[c].type).label(c) for c, value in constant.items()]
                source = select(*arrays, *constants)
                statement = postgresql.insert(t).from_select([*_UNNESTED, *constant], source) \
                    .on_conflict_do_nothing(index_elements=_KEY).returning(t.c.id)
                return len(uow.session.execute(statement).all())
        insert = postgresql.insert if uow.session.get_bind().dialect.name == "postgresql" else sqlite.insert
        many = insert(t).on_conflict_do_nothing(index_elements=_KEY).returning(t.c.id)
        return len(uow.session.execute(many, rows).all())

    def contacts(self, recipients: Iterable[str]) -> dict[str, Contact]:
        """The recipients' contacts: one `= ANY(array)` query on PostgreSQL (a sweep's 18,000
        recipients were 36 round trips), chunks of 500 placeholders on SQLite."""
        c, found = orm.notification_contacts.c, {}
        for condition in among(self.uow.session, c.recipient, sorted(set(recipients))):
            for row in self.uow.session.execute(select(orm.notification_contacts).where(condition)):
                found[row.recipient] = Contact(row.recipient, row.updated_at, row.email, row.phone)
        return found

    def mark_enqueued(self, now: datetime, lease: timedelta, limit: int) -> list[str]:
        """The relay's rows: ready to send (new, a failed one whose backoff ran out, or a send whose
        claim lease expired), not handed to the broker within the last lease; marked enqueued."""
        t = orm.notifications.c
        ready = _claimable(now)
        not_recent = or_(t.enqueued_at.is_(None), t.enqueued_at <= now - lease)
        # One set-based UPDATE ... RETURNING (no id list sent back): the conditions are checked again
        # on each row it updates, so an overlapping relay that marked a row first keeps it.
        pick = select(t.id).where(ready, not_recent).order_by(t.next_attempt_at).limit(limit)
        return list(self.uow.session.scalars(update(orm.notifications).where(t.id.in_(pick), ready, not_recent)
                                             .values(enqueued_at=now).returning(t.id)))

    def listing(self, state: str | None, recipient: str | None, limit: int, offset: int) -> list[Notification]:
        """The outbox, newest first, filtered by state and recipient."""
        t = orm.notifications.c
        where = [t.state == state] if state else []
        where += [t.recipient == recipient] if recipient else []
        query = select(Notification).where(*where).order_by(t.created_at.desc(), t.id).limit(limit).offset(offset)
        found = list(self.uow.session.scalars(query))
        self.uow.session.expunge_all()  # read-only: the rows stay readable after the unit of work closes
        return found

    def unpark(self, notification: Notification, now: datetime) -> bool:
        """A parked row back to pending with a fresh set of attempts; False if it is parked no more."""
        t = orm.notifications.c
        done = self.uow.session.execute(
            update(orm.notifications).where(t.id == notification.id, t.state == "parked")
            .values(state="pending", attempts=0, next_attempt_at=now, enqueued_at=None).returning(t.id))
        return done.first() is not None

    def refresh(self, notification: Notification) -> None:
        self.uow.session.refresh(notification)

    def contact(self, recipient: str) -> Contact | None:
        return self.uow.session.get(Contact, recipient)

    # -- claims and outcomes (rems.services.reminders.claims) ----------------------------------
    def lock(self, ids: list[str]) -> list[str]:
        """Lock the rows first, in id order, skipping those another transaction holds (another
        worker claiming an overlapping batch takes them): claims never wait on each other and
        never deadlock on PostgreSQL; SQLite has one writer at a time and ignores the clause."""
        t = orm.notifications.c
        return list(self.uow.session.scalars(select(t.id).where(t.id.in_(ids)).order_by(t.id)
                                             .with_for_update(skip_locked=True)))

    def park_exhausted(self, ids: list[str], now: datetime, max_attempts: int) -> list[str]:
        """Park the rows of `ids` claimable now whose attempts are used up; their ids."""
        t = orm.notifications.c
        parked = self.uow.session.execute(
            update(orm.notifications).where(t.id.in_(ids), _claimable(now), t.attempts >= max_attempts)
            .values(state="parked", claim_token=None, lease_until=None,
                    last_error="attempts exhausted (a send never finished)").returning(t.id))
        return [parked_id for (parked_id,) in parked.all()]

    def claim(self, ids: list[str], now: datetime, token: str, lease_until: datetime,
              max_attempts: int) -> list[Any]:
        """Claim the rows of `ids` claimable now with attempts left (one attempt more each); the rows."""
        t = orm.notifications.c
        claimed = self.uow.session.execute(
            update(orm.notifications).where(t.id.in_(ids), _claimable(now), t.attempts < max_attempts)
            .values(state="sending", claim_token=token, lease_until=lease_until,
                    attempts=t.attempts + 1).returning(*orm.notifications.c))
        return list(claimed.all())

    def contacts_of(self, chunks: Iterable[list[str]]) -> dict[str, Contact]:
        """The contacts of the recipients, one IN query per chunk."""
        c, found = orm.notification_contacts.c, {}
        for ids in chunks:
            for row in self.uow.session.execute(select(orm.notification_contacts).where(c.recipient.in_(ids))):
                found[row.recipient] = Contact(row.recipient, row.updated_at, row.email, row.phone)
        return found

    def mark_sent(self, ids: list[str], token: str, now: datetime) -> list[str]:
        """The rows of `ids` still sending under `token`, now sent; their ids."""
        t = orm.notifications.c
        done = self.uow.session.execute(
            update(orm.notifications).where(t.id.in_(ids), t.state == "sending", t.claim_token == token)
            .values(state="sent", sent_at=now, last_error=None, claim_token=None, lease_until=None)
            .returning(t.id))
        return [sent_id for (sent_id,) in done.all()]

    def end_claim(self, notification_id: str, token: str, values: dict[str, Any]) -> bool:
        """The row, still sending under `token`, takes `values` and leaves its claim; False if the
        claim was lost."""
        t = orm.notifications.c
        done = self.uow.session.execute(update(orm.notifications).where(_mine(notification_id, token))
                                        .values(**values, claim_token=None, lease_until=None).returning(t.id))
        return done.first() is not None

    def release(self, notification_id: str, token: str, now: datetime) -> bool:
        """Back to pending at once, the attempt not counted; False if the claim was lost."""
        t = orm.notifications.c
        done = self.uow.session.execute(update(orm.notifications).where(_mine(notification_id, token)).values(
            state="pending", attempts=t.attempts - 1, next_attempt_at=now, enqueued_at=None,
            claim_token=None, lease_until=None).returning(t.id))
        return done.first() is not None

    # -- closing the loop (rems.services.reminders.loop) ---------------------------------------
    def queue_message(self, row: dict[str, Any], issuer: str | None, media_type: str,
                      render: Callable[[str], str]) -> None:
        """One outbox row (at most one per natural key) and, if it is new, its body, rendered for
        its id, in the caller's transaction."""
        session = self.uow.session
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        statement = insert(orm.notifications).values(**row).on_conflict_do_nothing(
            index_elements=_KEY).returning(orm.notifications.c.id)
        if session.execute(statement).first() is not None:
            session.execute(orm.loop_messages.insert().values(
                notification_id=row["id"], issuer=issuer, media_type=media_type, body=render(row["id"])))

