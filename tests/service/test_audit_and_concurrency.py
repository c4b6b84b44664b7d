"""The audit log is append-only (STYLE 5); races for one authorization are settled by the database
(STYLE 6, R26, R33)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from rems.domain.errors import DomainError, Refused
from rems.domain.model import AuditEntry, Confirmation, Dispense, Prescription
from tests.races import race
from tests.service.builders import Scenario, codes


@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET actor = 'someone else'",
    "UPDATE audit_log SET to_state = 'certified' WHERE entity = 'prescriber'",
    "DELETE FROM audit_log",
    "DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)",
])
def test_the_audit_log_refuses_update_and_delete_in_the_database(
        scenario: Scenario, statement: str) -> None:
    before = [(a.id, a.actor, a.to_state) for a in scenario.rows(AuditEntry)]
    assert len(before) == 4  # enroll and certify, for the prescriber and the pharmacy
    with pytest.raises(DBAPIError, match="append-only"), scenario.app.engine.begin() as connection:
        connection.execute(text(statement))
    assert [(a.id, a.actor, a.to_state) for a in scenario.rows(AuditEntry)] == before
    with scenario.app.engine.begin() as connection:  # appending is what it is for
        connection.execute(text(
            "INSERT INTO audit_log (at, actor, entity, entity_id, trigger, reasons) "
            "VALUES ('2026-03-02 09:00:00.000000', 'x', 'note', 'n1', 'note', '[]')"))
    assert len(scenario.rows(AuditEntry)) == 5


@contextmanager
def _commits_meet(s: Scenario, parties: int = 2) -> Iterator[None]:
    """Hold each racing thread at its commit for a moment, holding what it locked, so that the
    other racer really meets the lock instead of finishing after it by luck. Writers serialise on
    both databases (issue 13 item 8): PostgreSQL's row lock, SQLite's write lock taken at BEGIN
    IMMEDIATE; so the second racer cannot reach its commit while the first waits here."""
    lock, everyone, arrived = threading.Lock(), threading.Event(), [0]

    def meet(_session: Session) -> None:
        if threading.current_thread().name.startswith("racer"):
            with lock:
                arrived[0] += 1
                if arrived[0] == parties:
                    everyone.set()
            everyone.wait(timeout=0.3)

    event.listen(s.app.sessions, "before_commit", meet)
    try:
        yield
    finally:
        event.remove(s.app.sessions, "before_commit", meet)


def _one_winner(results: list[Any], lost_code: str) -> Any:
    """One racer wins; the other waited for it (a row lock on PostgreSQL, the write lock on
    SQLite), then saw its record and was refused with the rule that says so: never a raw database
    error, and, since writers serialise on both stores, not a bare Conflict either."""
    losers = [r for r in results if isinstance(r, Exception)]
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1 and len(losers) == 1, results
    loser = losers[0]
    assert isinstance(loser, Refused) and lost_code in codes(loser), repr(loser)
    return winners[0]


def test_two_pharmacies_racing_for_one_authorization_get_one_confirmation_r26(
        scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male")
    rx = s.authorized()
    assert rx.number is not None
    number, other = rx.number, s.new_pharmacy()
    with _commits_meet(s):
        results = race(lambda: s.confirm(number), lambda: s.confirm(number, other))
    winner = _one_winner(results, "R26_ALREADY_CONFIRMED")
    confirmation, = s.rows(Confirmation)
    assert (confirmation.id, confirmation.state) == (winner.id, "issued")
    assert s.fetch(Prescription, rx.id).state == "confirmed"
    assert [t for t, _, _ in s.trail("prescription", rx.id)].count("confirm") == 1


def test_two_dispenses_racing_on_one_confirmation_leave_one_dispense_r33(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male")
    rx = s.authorized()
    assert rx.number is not None
    confirmation = s.confirm(rx.number)
    with _commits_meet(s):
        results = race(lambda: s.dispense(confirmation.number), lambda: s.dispense(confirmation.number))
    winner = _one_winner(results, "R33_ALREADY_DISPENSED")
    dispense, = s.rows(Dispense)
    assert dispense.id == winner.id
    assert s.fetch(Confirmation, confirmation.id).state == "used"
    assert [t for t, _, _ in s.trail("prescription", rx.id)].count("dispense") == 1


def test_without_the_meeting_point_the_later_racer_is_refused_or_conflicts(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male")
    rx = s.authorized()
    assert rx.number is not None
    confirmation = s.confirm(rx.number)
    results = race(*[lambda: s.dispense(confirmation.number)] * 4)
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, DomainError) for r in results if isinstance(r, Exception)), results
    assert len(s.rows(Dispense)) == 1
