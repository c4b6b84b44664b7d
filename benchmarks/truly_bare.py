"""The truly bare endpoints (issue 14 item 1): what the stack itself costs, with no project code.

An `async def` FastAPI route running one indexed SELECT through SQLAlchemy Core (the read), and
one INSERT committed durably (the write): no project middleware, dependency, unit of work, token
or rendering. They run on the same database, in the same server process as the project (a path
dispatcher in benchmarks/server.py sends `/stack/...` here and everything else to the project),
so the project's endpoints are measured against them side by side.

The same routes are also mounted inside the project's app under `/bench/inapp/...`: that row
shows what the project's middleware and routing add to the very same handler.

Durability is the project's: SQLite in WAL mode with synchronous=FULL, PostgreSQL with fsync and
synchronous_commit on (benchmarks/databases.py). On SQLite both run inline on the event loop, as
the issue measured the read (a SELECT there is tens of microseconds; and one writer at a time is
all SQLite allows: inline, it never waits on the lock). On PostgreSQL both run in the thread pool:
inline, every request waited on the network round trip of the one before (the "bare" read came
out slower than an INSERT and commit), while in threads the round trips overlap and commits share
WAL flushes. The fastest plain way on each store, so a ratio against it is the strict one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import anyio
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, Response
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    event,
    insert,
    select,
)

metadata = MetaData()
# The project's table, declared here by hand (no import of rems): the columns the read returns.
_prescriptions = Table("prescriptions", MetaData(), Column("id", String(32), primary_key=True),
                       Column("number", String(32)), Column("state", String(32)),
                       Column("expires_at", DateTime(timezone=True)))
stack_writes = Table(  # created by the harness in the benchmark database only, never migrated
    "bench_stack_writes", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
    Column("number", String(32), nullable=False), Column("at", DateTime(timezone=True), nullable=False))

_READ = select(_prescriptions.c.id, _prescriptions.c.number, _prescriptions.c.state,
               _prescriptions.c.expires_at).where(_prescriptions.c.number == bindparam("number"))


def _sqlite_durable(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.close()


def engine_for(url: str) -> Engine:
    """A plain engine with the project's pool size and durability, nothing else."""
    engine = create_engine(url, pool_size=20, max_overflow=20)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_durable)
    return engine


def create_table(engine: Engine) -> None:
    metadata.create_all(engine, checkfirst=True)


def router(engine: Engine) -> APIRouter:
    routes = APIRouter(include_in_schema=False)
    inline = engine.dialect.name == "sqlite"

    def select_one(number: str) -> Any:
        with engine.connect() as connection:
            return connection.execute(_READ, {"number": number}).first()

    def insert_one(number: str) -> None:
        with engine.begin() as connection:
            connection.execute(insert(stack_writes).values(number=number, at=datetime.now(UTC)))

    @routes.get("/read/{number}")
    async def read(number: str) -> Response:
        row = select_one(number) if inline else await anyio.to_thread.run_sync(select_one, number)
        if row is None:
            return JSONResponse({"detail": "not found"}, status_code=404)
        return JSONResponse({"id": row.id, "number": row.number, "state": row.state,
                             "expires_at": row.expires_at.isoformat() if row.expires_at else None})

    @routes.post("/write/{number}")
    async def write(number: str) -> Response:
        if inline:
            insert_one(number)
        else:
            await anyio.to_thread.run_sync(insert_one, number)
        return JSONResponse({"number": number}, status_code=201)

    return routes


def create(url: str) -> FastAPI:
    """The bare app the dispatcher serves under `/stack`."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(router(engine_for(url)), prefix="/stack")
    return app
