"""Engines, sessions and migrations; nothing connects at import time (STYLE 8)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from rems.adapters.sqlite_writers import WriterQueue, connection_class

MIGRATIONS = Path(__file__).parent / "migrations"

# PostgreSQL's word that a concurrent transaction got there first: serialization_failure,
# deadlock_detected, lock_not_available. Retrying the whole unit of work is the remedy.
RACE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})


# SQLite's word for the same: SQLITE_BUSY and its extended codes, once the busy timeout is spent.
SQLITE_BUSY = 5
# An execution option: this connection's transactions only read (see `reading`).
READ_ONLY = "rems_read_only"


def lost_a_race(error: BaseException | None) -> bool:
    """True for a database error that means "another transaction won; retry", nothing else."""
    if not isinstance(error, DBAPIError):
        return False
    if getattr(error.orig, "sqlstate", None) in RACE_SQLSTATES:
        return True
    code = getattr(error.orig, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF == SQLITE_BUSY


# The API serves sync routes from a pool of 40 threads: keep enough connections open that a busy
# server reuses them instead of opening and closing overflow connections per request (a profile
# in the benchmarks showed it), and bound the total per process.
POOL = {"pool_size": 20, "max_overflow": 20}


# How long a SQLite writer waits for the write lock before it gives up (SQLITE_BUSY).
SQLITE_BUSY_TIMEOUT_SECONDS = 30


def make_engine(url: str) -> Engine:
    # Issue 15 item 3: no bound value (a patient's name, a birth date) in an error's message or a log.
    if url.startswith("sqlite"):
        queue = WriterQueue(SQLITE_BUSY_TIMEOUT_SECONDS)  # issue 14 item 3: writers in line
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
                                                  "factory": connection_class(queue)},
                               hide_parameters=True, **POOL)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", lambda connection: _sqlite_begin(connection, queue))
        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True, **POOL)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy's pysqlite recipe: pysqlite must not emit BEGIN itself (it would only at the
    # first write, after the reads that decided it), so `_sqlite_begin` does; this also makes
    # DDL transactional, as Alembic expects.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.close()


def _sqlite_begin(connection: Connection, queue: WriterQueue | None = None) -> None:
    # Issue 13 item 8: SQLite ignores FOR UPDATE, so a writing transaction takes the database's
    # write lock when it begins, before its first read; writers then run one after another as
    # PostgreSQL's row locks make them (R28, R33), and a second writer waits up to the busy
    # timeout instead of failing. Readers (WAL) never wait for a writer.
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    if read_only or queue is None:
        # Issue 14 item 2: on the driver's connection (a read's BEGIN through the engine cost more
        # than the check's SELECTs); the Connection already counts itself in a transaction here.
        connection.connection.driver_connection.execute("BEGIN")  # type: ignore[union-attr]
        return
    dbapi_connection = connection.connection.dbapi_connection
    queue.enter(dbapi_connection)  # issue 14 item 3: this process's writers in line, not polling
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        queue.leave(dbapi_connection)
        raise


def reading(engine: Engine) -> Engine:
    """The same engine and pool, for transactions that only read: on SQLite they begin deferred
    and take no write lock; on PostgreSQL nothing changes. Made once per engine (issue 14 item 2:
    a new option engine per read unit of work cost a check more than its SELECTs' parsing)."""
    found: Engine | None = getattr(engine, "_rems_reading", None)  # kept on the engine: no leak
    if found is None:
        found = engine.execution_options(**{READ_ONLY: True})
        engine._rems_reading = found  # type: ignore[attr-defined]
    return found


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@contextmanager
def migrating(engine: Engine) -> Iterator[Connection]:
    """One transaction for a migration (transactional DDL on both databases).

    On SQLite, Alembic's batch operations copy a table and drop the old one, which foreign keys
    refuse while other tables refer to its rows; so they are off for the migration (a PRAGMA that
    only takes effect outside a transaction) and checked before it commits."""
    with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        raw = connection.connection.driver_connection
        if sqlite and raw is not None:
            raw.execute("PRAGMA foreign_keys = OFF")
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").first()
                    if broken is not None:
                        raise RuntimeError(f"the migration left a dangling foreign key: {tuple(broken)}")
        finally:
            if sqlite and raw is not None:
                raw.execute("PRAGMA foreign_keys = ON")


def migrate(engine: Engine, revision: str = "head", verb: str = "upgrade") -> None:
    """Bring the schema to `revision` (the latest by default; idempotent)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with migrating(engine) as connection:
        config.attributes["connection"] = connection
        getattr(command, verb)(config, revision)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
