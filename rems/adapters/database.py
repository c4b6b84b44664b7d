"""Engines, sessions and migrations; nothing connects at import time (STYLE 8)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"

# PostgreSQL's word that a concurrent transaction got there first: serialization_failure,
# deadlock_detected, lock_not_available. Retrying the whole unit of work is the remedy.
RACE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})


def lost_a_race(error: BaseException | None) -> bool:
    """True for a database error that means "another transaction won; retry", nothing else."""
    return isinstance(error, DBAPIError) and getattr(error.orig, "sqlstate", None) in RACE_SQLSTATES


# The API serves sync routes from a pool of 40 threads: keep enough connections open that a busy
# server reuses them instead of opening and closing overflow connections per request (a profile
# in the benchmarks showed it), and bound the total per process.
POOL = {"pool_size": 20, "max_overflow": 20}


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **POOL)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **POOL)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the latest revision (idempotent)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
