"""Issue 14 item 3: on SQLite a confirmation or a dispense is decided on a snapshot before the write
lock, and decided again under the lock when anything it read changed in between. Each test commits
the competing change exactly in that gap (`optimistic.between`) and expects the answer the rules
give for the state under the lock (R25, R28, R30), as if the decision had been made there."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rems.domain.errors import Refused
from rems.domain.model import Confirmation, Dispense, Prescription
from rems.services.dispensing import optimistic, prescriptions
from rems.services.enrollment import certification
from tests.service.builders import Scenario
from tests.service.test_races import _second_open_authorization


@pytest.fixture
def s(scenario: Scenario) -> Scenario:
    if scenario.app.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL decides under its row locks, which never stop readers")
    return scenario


@pytest.fixture
def gap(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Callable[[], Any]], None]]:
    """Run `change` once, between the next snapshot and its write lock."""
    ran: list[bool] = []

    def arm(change: Callable[[], Any]) -> None:
        def once() -> None:
            monkeypatch.setattr(optimistic, "between", None)  # the change's own writes pass through
            change()
            ran.append(True)
        monkeypatch.setattr(optimistic, "between", once)
    yield arm
    assert ran, "the change never ran between the snapshot and the lock"


def _rules(error: Refused) -> set[str]:
    return {f.rule for f in error.failures}


def _no_locked_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: Any) -> Any:
        raise AssertionError("decided under the lock although nothing changed")
    monkeypatch.setattr(prescriptions, "_confirm_under_lock", refuse)
    monkeypatch.setattr(prescriptions, "_dispense_under_lock", refuse)


def _authorized(s: Scenario, category: str) -> Prescription:
    s.enrolled(category).ready()
    rx = s.authorized()
    assert rx.number is not None
    return rx


def test_nothing_changed_the_snapshot_decision_stands_r26_r33(s: Scenario,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    rx = _authorized(s, "adult_male")
    assert rx.number is not None
    _no_locked_path(monkeypatch)
    confirmation = s.confirm(rx.number)
    dispense = s.dispense(confirmation.number)
    assert s.fetch(Prescription, rx.id).state == "dispensed"
    assert s.fetch(Confirmation, confirmation.id).state == "used"
    assert dispense.prescription_id == rx.id


def test_a_dispense_committed_in_the_gap_is_seen_by_the_second_dispense_r28(
        s: Scenario, gap: Callable[[Callable[[], Any]], None]) -> None:
    """R28: two authorizations of one patient; the other one is dispensed between the second
    dispense's snapshot and its lock: the second is refused for the supply on hand."""
    other = s.new_pharmacy()
    s.enrolled("adult_male").ready()
    first = s.authorized()
    second = _second_open_authorization(s, first)
    assert first.number is not None and second.number is not None
    a, b = s.confirm(first.number).number, s.confirm(second.number, other).number
    gap(lambda: s.dispense(a))
    with pytest.raises(Refused) as refused:
        s.dispense(b, other)
    assert "R28" in _rules(refused.value)
    assert s.count(Dispense, Dispense.patient_id == s.patient_id) == 1


def test_a_pharmacy_suspended_in_the_gap_gets_no_confirmation_r25(
        s: Scenario, gap: Callable[[Callable[[], Any]], None]) -> None:
    rx = _authorized(s, "adult_male")
    assert rx.number is not None
    gap(lambda: s.call(certification.change_certification, "pharmacy", s.pharmacy_id, "suspend",
                       s.program, actor="admin"))
    with pytest.raises(Refused) as refused:
        s.confirm(rx.number)
    assert "R25" in _rules(refused.value)
    assert s.count(Confirmation, Confirmation.prescription_id == rx.id) == 0


def test_a_positive_test_in_the_gap_stops_the_dispense_r30(
        s: Scenario, gap: Callable[[Callable[[], Any]], None]) -> None:
    rx = _authorized(s, "adult_frp")
    assert rx.number is not None
    number = s.confirm(rx.number).number
    gap(lambda: s.pregnancy_test("positive", 0.5))
    with pytest.raises(Refused) as refused:  # decided again under the lock: voided (R30)
        s.dispense(number)
    assert refused.value.failures, refused.value
    assert s.count(Dispense, Dispense.patient_id == s.patient_id) == 0
    assert s.fetch(Prescription, rx.id).state == "voided"


def test_a_change_to_another_patient_in_the_gap_keeps_the_snapshot_decision(
        s: Scenario, gap: Callable[[Callable[[], Any]], None], monkeypatch: pytest.MonkeyPatch) -> None:
    rx = _authorized(s, "adult_male")
    assert rx.number is not None
    mine = s.patient_id
    s.enrolled("adult_frp").ready()  # another patient, tested in the gap
    other = s.patient_id
    s.patient_id = mine
    gap(lambda: s.pregnancy_test("negative", 0.5, patient_id=other))
    _no_locked_path(monkeypatch)
    assert s.confirm(rx.number).state == "issued"
