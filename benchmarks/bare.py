"""The benchmark-only endpoints the check and the dispense are compared with, on the same server,
database and plumbing: the same bearer-token authentication (reader/writer dependencies), the
same unit of work, the same JSON rendering; only the work differs.

- bare read: one SELECT by a unique key (the authorization number) returned as JSON;
- bare write: lock one row (the prescription, FOR UPDATE on PostgreSQL), insert one row, commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Column, DateTime, Engine, Integer, MetaData, String, Table, insert, select

from rems.adapters.orm import prescriptions
from rems.adapters.uow import UnitOfWork
from rems.api.calls import Calls, reader, writer
from rems.domain.errors import NotFound
from rems.services.context import Context

metadata = MetaData()
bench_writes = Table(  # created by the harness in the benchmark database only, never migrated
    "bench_writes", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
    Column("prescription_id", String(32), nullable=False), Column("actor", String(80), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False))

router = APIRouter(prefix="/bench", include_in_schema=False)
Reader = Annotated[Calls, Depends(reader("pharmacy"))]
Writer = Annotated[Calls, Depends(writer("pharmacy"))]


class Row(BaseModel):
    id: str
    number: str
    state: str
    expires_at: datetime | None


def create_table(engine: Engine) -> None:
    metadata.create_all(engine, checkfirst=True)


def read_one(uow: UnitOfWork, ctx: Context, number: str) -> Row:
    t = prescriptions.c
    found = uow.session.execute(select(t.id, t.number, t.state, t.expires_at).where(t.number == number)).first()
    if found is None:
        raise NotFound("authorization", number)
    return Row(id=found.id, number=found.number, state=found.state, expires_at=found.expires_at)


def write_one(uow: UnitOfWork, ctx: Context, number: str) -> Row:
    t = prescriptions.c
    found = uow.session.execute(select(t.id, t.number, t.state, t.expires_at).where(t.number == number)
                                .with_for_update()).first()
    if found is None:
        raise NotFound("authorization", number)
    uow.session.execute(insert(bench_writes).values(prescription_id=found.id, actor=ctx.actor, at=ctx.now))
    uow.commit()
    return Row(id=found.id, number=found.number, state=found.state, expires_at=found.expires_at)


def _same(row: Row) -> Row:
    return row


@router.get("/read/{number}")
def bare_read(number: str, calls: Reader) -> Row:
    return calls.read(_same, read_one, number)


@router.post("/write/{number}", status_code=201)
def bare_write(number: str, calls: Writer) -> JSONResponse:
    return calls.create(_same, write_one, number)
