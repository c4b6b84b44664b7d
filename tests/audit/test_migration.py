"""Revision 0003 chains the audit rows written before it, and keeps the log append-only on both
databases, up and down (issue 6)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from rems.adapters.database import migrate
from rems.bootstrap import App
from tests.audit.conftest import verify

OLD_ROWS = [("2026-03-01 08:00:00.000000", "admin", "prescriber", "prs_1", "enroll", None, "enrolled"),
            ("2026-03-01 08:05:00.250000", "admin", "prescriber", "prs_1", "certify", "enrolled", "certified"),
            ("2026-03-01 09:00:00.000000", "dr", "patient", "pat_1", "enroll", "pending", "active")]


def _alembic(app: App, verb: str, revision: str) -> None:
    migrate(app.engine, revision, verb)  # the project's own: one transaction, SQLite FKs checked


def _refuses_changes(app: App) -> None:
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), app.engine.begin() as connection:
            connection.execute(text(statement))


def test_upgrading_chains_the_rows_already_there_and_keeps_the_log_append_only(app: App) -> None:
    _alembic(app, "downgrade", "0002")
    with app.engine.begin() as connection:
        for row in OLD_ROWS:
            connection.execute(text(
                "INSERT INTO audit_log (at, actor, entity, entity_id, trigger, from_state, to_state, reasons) "
                "VALUES (:at, :actor, :entity, :id, :trigger, :before, :after, '[]')"),
                dict(zip(("at", "actor", "entity", "id", "trigger", "before", "after"), row, strict=True)))
    _refuses_changes(app)  # 0003 down left 0001's guards in place
    _alembic(app, "upgrade", "head")
    result = verify(app)
    assert result.ok, result.finding
    assert result.entries == len(OLD_ROWS) and result.head.seq == len(OLD_ROWS)
    _refuses_changes(app)
    with app.engine.connect() as connection:
        assert connection.execute(text("SELECT seq FROM audit_log ORDER BY id")).scalars().all() == [1, 2, 3]
