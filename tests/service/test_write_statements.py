"""Issue 14 item 3: what a confirmation and a dispense read under their locks, counted.

The oracle is the design in docs/hot-path.md (the write section), not the code: on SQLite the
snapshot's records are adopted under the write lock, never read again by key; the live
confirmations are counted through the partial index of R26; on both stores the patient that
`lock_prescription` locked is selected once. Statements are counted by an engine listener from the
writer's first statement to its COMMIT (the test environment seals inline, after it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from rems.adapters import optimistic as optimistic_reads
from rems.domain.model import Prescription
from rems.services.dispensing import optimistic
from tests.service.builders import Scenario


@contextmanager
def writer_statements(s: Scenario) -> Iterator[list[str]]:
    """The statements the next write runs up to its commit, whitespace collapsed."""
    seen: list[str] = []
    done = [False]

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not done[0]:
            seen.append(" ".join(statement.split()))

    def committed(_conn: Any) -> None:
        done[0] = True
    event.listen(s.app.engine, "before_cursor_execute", note)
    event.listen(s.app.engine, "commit", committed)
    try:
        yield seen
    finally:
        event.remove(s.app.engine, "before_cursor_execute", note)
        event.remove(s.app.engine, "commit", committed)


def _authorized(s: Scenario) -> Prescription:
    s.enrolled("adult_male").ready()
    rx = s.authorized()
    assert rx.number is not None
    return rx


def _confirmed_and_dispensed(s: Scenario) -> tuple[list[str], list[str]]:
    """A patient's authorization confirmed, then dispensed: the statements of each write."""
    rx = _authorized(s)
    assert rx.number is not None
    with writer_statements(s) as confirming:
        confirmation = s.confirm(rx.number)
    with writer_statements(s) as dispensing:
        s.dispense(confirmation.number)
    return confirming, dispensing


def _under_the_lock(statements: list[str]) -> list[str]:
    assert "BEGIN IMMEDIATE" in statements, statements
    return statements[statements.index("BEGIN IMMEDIATE") + 1:]


# A read of one whole record by key (the ORM's `get`): every column of the table, by its id.
BY_KEY = ("SELECT prescriptions.id, prescriptions.program_id", "SELECT patients.id, patients.program_id",
          "SELECT confirmations.id, confirmations.number", "SELECT pharmacies.id, pharmacies.name")


def test_sqlite_a_confirmation_and_a_dispense_read_no_record_again_under_the_write_lock(
        scenario: Scenario) -> None:
    s = scenario
    if s.app.engine.dialect.name != "sqlite":
        pytest.skip("SQLite decides on a snapshot before its one write lock; PostgreSQL under row locks")
    confirming, dispensing = _confirmed_and_dispensed(s)
    for statements in (confirming, dispensing):
        locked = _under_the_lock(statements)
        assert not [q for q in locked if q.startswith(BY_KEY)], locked
        assert sum(q.startswith("SELECT program_status_changes.") for q in locked) == 1
    # the dispense's snapshot: its confirmation, authorization, patient and pharmacy in one statement
    snapshot = dispensing[:dispensing.index("BEGIN IMMEDIATE")]
    assert sum("FROM confirmations JOIN prescriptions" in q for q in snapshot) == 1, snapshot
    assert not [q for q in snapshot if q.startswith(BY_KEY)], snapshot


def test_sqlite_the_live_confirmations_are_counted_through_the_partial_index_r26(scenario: Scenario) -> None:
    s = scenario
    if s.app.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query plan")
    with s.app.engine.connect() as connection:
        sql = str(optimistic_reads.versions_statement().compile(s.app.engine))
        raw = connection.connection.driver_connection
        assert raw is not None
        plan = [row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + sql, ["x"] * sql.count("?"))]
    assert any("live USING INDEX uq_confirmations_live" in line for line in plan), plan


@pytest.mark.parametrize("locked_path", [False, True])
def test_the_locked_patient_is_selected_once_r28(scenario: Scenario, monkeypatch: pytest.MonkeyPatch,
                                                  locked_path: bool) -> None:
    """Both stores' locked path (PostgreSQL always; SQLite when the snapshot cannot decide): the
    patient is locked with its person and prescription (issue 13's order) and then taken from the
    session, not selected again."""
    s = scenario
    if s.app.engine.dialect.name == "sqlite" and not locked_path:
        pytest.skip("SQLite's optimistic path reads no patient under the lock (the test above)")
    if s.app.engine.dialect.name != "sqlite" and locked_path:
        pytest.skip("PostgreSQL has no other path: the case without the switch covers it")
    if locked_path:
        monkeypatch.setattr(optimistic, "confirmation", lambda *_args: None)
        monkeypatch.setattr(optimistic, "dispense", lambda *_args: None)
    confirming, dispensing = _confirmed_and_dispensed(s)
    for statements in (confirming, dispensing):
        patients = [q for q in statements if q.startswith("SELECT patients.id, patients.program_id")]
        assert len(patients) == 1, patients
