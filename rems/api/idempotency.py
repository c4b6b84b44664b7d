"""Idempotency-Key: a retried POST gets the first response back and creates nothing (issue 3)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import insert, select

from rems.adapters.database import reading
from rems.adapters.orm import idempotency_keys
from rems.api.errors import ApiError
from rems.bootstrap import App
from rems.services.uow import UnitOfWork

HEADER = "Idempotency-Key"
PATTERN = r"^[\x21-\x7e]{1,200}$"  # visible ASCII, e.g. a UUID


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
    """The stored first response for this key, or None; the key reused differently is refused."""
    t = idempotency_keys.c
    with reading(app.engine).connect() as connection:  # no write lock for a look-up
        row = connection.execute(select(t.request, t.body_hash, t.status, t.response)
                                 .where(t.actor == actor, t.key == key)).first()
    if row is None:
        return None
    if (row.request, row.body_hash) != (seen.request, seen.body_hash):
        raise ApiError(422, "idempotency-key-reused",
                       f"{HEADER} {key!r} was already used for a different request", field=HEADER)
    return JSONResponse(row.response, status_code=row.status, headers={"Idempotent-Replayed": "true"})


def remember(uow: UnitOfWork, actor: str, key: str, seen: Fingerprint, status: int,
             response: dict[str, Any], now: datetime) -> None:
    """Written in the effect's own transaction: both land or neither does."""
    uow.session.execute(insert(idempotency_keys).values(
        actor=actor, key=key, request=seen.request, body_hash=seen.body_hash, status=status,
        response=response, created_at=now))
