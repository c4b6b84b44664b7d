"""Readiness (issue 15 item 4): what stops this process from serving, named; nothing when ready.

The API's /readyz asks about the database (reachable, schema at the migrations' head); a worker's
`rems notifications ready` asks that and about the broker. Reasons name the part and the error's
type, never its text (which may carry a host, a user or a value)."""

from __future__ import annotations

from functools import cache

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from rems.adapters.database import MIGRATIONS, reading


@cache
def schema_heads() -> frozenset[str]:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def database_problems(engine: Engine) -> list[str]:
    try:
        with reading(engine).connect() as connection:
            connection.execute(text("SELECT 1"))
            try:
                at = frozenset(r[0] for r in connection.execute(text("SELECT version_num FROM alembic_version")))
            except Exception:
                at = frozenset()
    except Exception as error:
        return [f"database: unreachable ({type(error).__name__})"]
    heads = schema_heads()
    if at != heads:
        return [f"schema: at {', '.join(sorted(at)) or 'nothing'}, head is {', '.join(sorted(heads))}; "
                "run `rems init`"]
    return []


def broker_problems(url: str, timeout: float = 3.0) -> list[str]:
    from kombu.connection import Connection
    try:
        with Connection(url, connect_timeout=timeout) as connection:  # type: ignore[no-untyped-call]
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
    except Exception as error:
        return [f"broker: unreachable ({type(error).__name__})"]
    return []
