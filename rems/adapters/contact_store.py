"""The contact_details table (issue 18, migration 0018): one row per holder, written at enrollment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from rems.adapters import orm

FIELDS = ("phone", "email", "preferred", "guardian_phone", "guardian_email")


def add(session: Session, kind: str, holder_id: str, values: dict[str, Any], at: datetime) -> None:
    session.execute(insert(orm.contact_details).values(
        holder_kind=kind, holder_id=holder_id, recorded_at=at, **{name: values.get(name) for name in FIELDS}))


def of(session: Session, kind: str, holder_id: str) -> dict[str, Any] | None:
    c = orm.contact_details.c
    row = session.execute(select(*(c[name] for name in FIELDS))
                          .where(c.holder_kind == kind, c.holder_id == holder_id)).first()
    return None if row is None else dict(zip(FIELDS, row, strict=True))
