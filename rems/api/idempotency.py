"""Idempotency-Key: a retried POST gets the first response back and creates nothing (issue 3)."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import delete, insert, null, select, update
from sqlalchemy.orm import Session, SessionTransaction

from rems.adapters import commit_hooks
from rems.adapters.database import reading
from rems.adapters.orm import idempotency_keys
from rems.bootstrap import App
from rems.http.errors import ApiError

HEADER = "Idempotency-Key"
PATTERN = r"^[\x21-\x7e]{1,200}$"  # visible ASCII, e.g. a UUID
# A retry meeting a committed effect whose response is not stored yet waits this long for it.
IN_PROGRESS_WAIT_SECONDS = 2.0


@dataclass(frozen=True)
class Fingerprint:
    """What makes a retry the same request: method, path and the body (canonical JSON)."""

    request: str
    body_hash: str


async def fingerprint(request: Request) -> Fingerprint:
    raw = await request.body()
    try:
        canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):  # not JSON, a 4,300-digit number, nested too deep
        canonical = raw
    return Fingerprint(f"{request.method} {request.url.path}"[:300], hashlib.sha256(canonical).hexdigest())


def replay(app: App, actor: str, key: str, seen: Fingerprint) -> JSONResponse | None:
    """The stored first response for this key, or None; the key reused differently is refused. A
    key whose effect is committed but whose response is still being stored (Claim.answer, right
    after the commit) is waited for a moment, so a concurrent retry gets the first answer too;
    only past IN_PROGRESS_WAIT_SECONDS (its first request died in between) is it a 409."""
    t = idempotency_keys.c
    query = select(t.request, t.body_hash, t.status, t.response).where(t.actor == actor, t.key == key)
    deadline = time.monotonic() + IN_PROGRESS_WAIT_SECONDS
    while True:
        with reading(app.engine).connect() as connection:  # no write lock for a look-up
            row = connection.execute(query).first()
        if row is None:
            return None
        if row.status is not None or time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    if (row.request, row.body_hash) != (seen.request, seen.body_hash):
        raise ApiError(422, "idempotency-key-reused",
                       f"{HEADER} {key!r} was already used for a different request", field=HEADER)
    if row.status is None:  # the effect is committed, its response not yet stored (Claim.answer)
        raise ApiError(409, "idempotency-key-in-progress",
                       f"the request with {HEADER} {key!r} has taken effect and its response is "
                       "being stored: retry in a moment", field=HEADER, headers={"Retry-After": "1"})
    return JSONResponse(row.response, status_code=row.status, headers={"Idempotent-Replayed": "true"})


@dataclass
class Claim:
    """Issue 15 item 9: the key is claimed by a before-commit hook in the transaction of the
    request's first commit, whichever service commits and however often: a retry can never apply
    the effect twice. The response is stored with the claim when it is known by then (a service
    that left its commit to the API), or by `answer()` right after, in a short transaction."""

    actor: str
    key: str
    seen: Fingerprint
    now: datetime
    response: tuple[int, dict[str, Any]] | None = None
    claimed: bool = False  # committed with an effect
    answered: bool = False  # its response stored too
    _staged: bool | None = None

    def watch(self, session: Session) -> None:
        commit_hooks.add(session, before_commit=self._before_commit, after_commit=self._after_commit,
                         after_soft_rollback=self._after_rollback)

    def _before_commit(self, session: Session) -> None:
        if self.claimed:
            return
        status, body = self.response if self.response else (None, null())
        session.execute(insert(idempotency_keys).values(
            actor=self.actor, key=self.key, request=self.seen.request, body_hash=self.seen.body_hash,
            status=status, response=body, created_at=self.now))
        self._staged = self.response is not None

    def _after_commit(self, session: Session) -> None:
        if self._staged is not None:
            self.claimed, self.answered, self._staged = True, self._staged, None

    def _after_rollback(self, session: Session, previous: SessionTransaction) -> None:
        self._staged = None

    def release(self, app: App) -> None:
        """Give up a claimed key that has no response: the request failed after a commit."""
        if not self.claimed or self.answered:
            return
        t = idempotency_keys.c
        with app.engine.begin() as connection:
            connection.execute(delete(idempotency_keys).where(
                t.actor == self.actor, t.key == self.key, t.status.is_(None)))
        self.claimed = False

    def answer(self, app: App, status: int, body: dict[str, Any]) -> None:
        """Store the response of a claimed key that has none yet."""
        if not self.claimed or self.answered:
            return
        t = idempotency_keys.c
        with app.engine.begin() as connection:
            connection.execute(update(idempotency_keys).where(
                t.actor == self.actor, t.key == self.key, t.status.is_(None)).values(
                status=status, response=body))
        self.answered = True
