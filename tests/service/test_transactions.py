"""Units of work on both stores (issue 13 items 8 and 9): a writer serialises with every other writer
from its first statement (SQLite: BEGIN IMMEDIATE), waits for the lock rather than failing, and a
reader never waits; DDL is transactional; a safety action that loses a race is run again until it
is applied, writing its audit entries once (rems/services/dispensing/retry.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from rems.adapters.database import migrate
from rems.adapters.uow import UnitOfWork
from rems.bootstrap import App
from rems.domain.errors import Conflict, InvalidInput
from rems.domain.model import AuditEntry, Patient, Prescriber
from rems.services.context import Context
from rems.services.dispensing import retry
from rems.services.lifecycle import audit
from tests.races import race
from tests.service.builders import Scenario

HOLD = 0.5  # how long the first writer keeps its transaction open


def _sqlite(app: App) -> bool:
    return app.engine.dialect.name == "sqlite"


def _hold_the_write_lock(app: App, prescriber_id: str, started: threading.Event) -> float:
    with app.uow() as uow:
        uow.get(Prescriber, prescriber_id, lock=True).name = "Dr Held"
        uow.flush()
        started.set()
        time.sleep(HOLD)
        uow.commit()
    return time.monotonic()


def test_a_second_writer_waits_for_the_first_and_then_succeeds(scenario: Scenario) -> None:
    """Issue 13 item 8: the busy timeout (SQLite) or the row lock (PostgreSQL) makes it wait; it
    does not fail at once, and it reads what the first one committed."""
    s, started = scenario, threading.Event()

    def second() -> tuple[float, str]:
        started.wait(5)
        with s.app.uow() as uow:
            prescriber = uow.get(Prescriber, s.prescriber_id, lock=True)
            name = prescriber.name
            prescriber.name = "Dr Second"
            uow.commit()
        return time.monotonic(), name

    first_done, (second_done, seen) = race(
        lambda: _hold_the_write_lock(s.app, s.prescriber_id, started), second)
    assert second_done >= first_done and seen == "Dr Held"
    assert s.fetch(Prescriber, s.prescriber_id).name == "Dr Second"


def test_a_reader_does_not_wait_for_a_writer(scenario: Scenario) -> None:
    """A read-only unit of work (status pages, the pharmacy check) takes no write lock."""
    s, started = scenario, threading.Event()

    def reader() -> tuple[float, str]:
        started.wait(5)
        begun = time.monotonic()
        with s.app.uow(write=False) as uow:
            name = uow.get(Prescriber, s.prescriber_id).name
        return time.monotonic() - begun, name

    _, (waited, name) = race(lambda: _hold_the_write_lock(s.app, s.prescriber_id, started), reader)
    assert waited < HOLD / 2 and name != "Dr Held"  # it read the last committed state at once


def test_a_writer_begins_with_the_write_lock_on_sqlite(app: App) -> None:
    """Issue 13 item 8: SQLite ignores FOR UPDATE, so a writer holds the lock from its first read."""
    if not _sqlite(app):
        pytest.skip("SQLite's write lock; PostgreSQL locks rows")
    with app.uow() as writer:
        writer.session.execute(text("SELECT 1"))
        raw = app.engine.raw_connection()  # another connection may not write meanwhile
        try:
            raw.driver_connection.execute("PRAGMA busy_timeout = 0")
            with pytest.raises(Exception, match="locked"):
                raw.driver_connection.execute("BEGIN IMMEDIATE")
        finally:
            raw.driver_connection.execute("PRAGMA busy_timeout = 30000")  # back to the pool as it was
            raw.close()
        with app.uow(write=False) as reader:  # but may read
            assert reader.session.execute(text("SELECT 1")).scalar() == 1


def test_a_read_only_unit_of_work_cannot_commit(app: App) -> None:
    with app.uow(write=False) as uow, pytest.raises(RuntimeError, match="read-only"):
        uow.commit()


def test_ddl_is_transactional_for_migrations(app: App) -> None:
    """Alembic runs each migration in a transaction: a failed one leaves no table behind."""
    with pytest.raises(ZeroDivisionError), app.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE half_done (id INTEGER PRIMARY KEY)")
        raise ZeroDivisionError
    assert "half_done" not in inspect(app.engine).get_table_names()
    app.migrate()  # and migrating an up-to-date database still works


def test_a_database_with_dispenses_migrates_down_and_up_again(scenario: Scenario) -> None:
    """Alembic's batch operations (0005 rebuilds `patients`) run inside the migration's transaction
    on a database whose other tables refer to the rebuilt one: SQLite's foreign keys are off for
    the migration and checked before it commits."""
    s = scenario.enrolled("adult_male").ready()
    s.dispensed()
    migrate(s.app.engine, "0004", "downgrade")
    migrate(s.app.engine)
    assert s.fetch(Patient, s.patient_id).person_id is not None  # 0005 linked it to a person again
    s.advance(days=30).survey()
    s.dispensed()  # and the store still works, with its foreign keys back on
    if _sqlite(s.app):
        with s.app.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


# -- retry (issue 13 item 9) ---------------------------------------------------------------------
def _losing(times: int, error: Callable[[], Exception]) -> tuple[Callable[..., str], list[int]]:
    """A use case that stages an audit entry, then loses `times` races before it applies."""
    calls: list[int] = []

    @retry.always_applied()
    def use_case(uow: UnitOfWork, ctx: Context, key: str) -> str:
        calls.append(1)
        audit(uow, ctx, "probe", key, "apply", None, "applied")
        if len(calls) <= times:
            raise error()
        uow.commit()
        return key
    return use_case, calls


def _stale() -> Exception:
    try:
        raise StaleDataError("the row changed")
    except StaleDataError as cause:
        conflict = Conflict("the record was changed by another request; retry")
        conflict.__cause__ = cause
        return conflict


def _probe_rows(s: Scenario, key: str) -> list[Any]:
    return s.rows(AuditEntry, AuditEntry.entity == "probe", AuditEntry.entity_id == key)


def test_a_safety_action_that_loses_races_is_run_again_and_audited_once(scenario: Scenario) -> None:
    s = scenario
    use_case, calls = _losing(3, _stale)
    assert s.call(use_case, "k1") == "k1"
    assert len(calls) == 4
    assert len(_probe_rows(s, "k1")) == 1  # the lost attempts' staged entries were dropped


def test_a_duplicate_row_is_also_a_lost_race(scenario: Scenario) -> None:
    def duplicate() -> Exception:
        conflict = Conflict("retry")
        conflict.__cause__ = IntegrityError("INSERT", {}, Exception("unique"))
        return conflict
    use_case, calls = _losing(1, duplicate)
    assert scenario.call(use_case, "k2") == "k2" and len(calls) == 2


def test_the_retry_is_bounded(scenario: Scenario) -> None:
    use_case, calls = _losing(10_000, _stale)
    with pytest.raises(Conflict):
        scenario.call(use_case, "k3")
    assert len(calls) == retry.ATTEMPTS
    assert _probe_rows(scenario, "k3") == []


def test_a_refusal_or_bad_input_is_not_retried(scenario: Scenario) -> None:
    use_case, calls = _losing(5, lambda: InvalidInput("field", "bad"))
    with pytest.raises(InvalidInput):
        scenario.call(use_case, "k4")
    assert len(calls) == 1


def test_inside_a_larger_unit_of_work_it_runs_once_and_leaves_the_rollback_to_the_caller(
        scenario: Scenario) -> None:
    use_case, calls = _losing(1, _stale)
    with scenario.app.uow() as uow, pytest.raises(Conflict):
        audit(uow, scenario.ctx(), "probe", "outer", "before", None, None)  # the caller's own work
        use_case(uow, scenario.ctx(), "k5")
    assert len(calls) == 1


def test_only_suspend_and_revoke_are_retried_among_certification_changes(scenario: Scenario) -> None:
    from rems.services.enrollment.certification import change_certification
    ctx = scenario.ctx()
    with scenario.app.uow() as uow:
        assert retry.applies(change_certification, uow, ctx, "prescriber", "p", "suspend", "pomalidomide")
        assert retry.applies(change_certification, uow, ctx, "pharmacy", "p", trigger="revoke",
                             program_id="pomalidomide")
        assert not retry.applies(change_certification, uow, ctx, "prescriber", "p", "certify",
                                 "pomalidomide")


def test_no_new_attempt_once_the_time_budget_is_spent(scenario: Scenario,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer that waited out a lock timeout is not made to wait that long again and again."""
    use_case, calls = _losing(10_000, _stale)
    monkeypatch.setattr(retry, "BUDGET_SECONDS", 0.0)
    with pytest.raises(Conflict):
        scenario.call(use_case, "k6")
    assert len(calls) == 1
