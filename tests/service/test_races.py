"""Races on both stores (issue 13 items 8 and 9): writes serialise on SQLite as on PostgreSQL, so two
dispenses for one patient leave one (R28, R33); and a safety action that meets a concurrent change
is retried until it is in force (R3, R30), with no dispense or confirmation slipping past it.

Each test repeats its race many times on real threads (tests/races.py); the `scenario` fixture runs
it on SQLite and on PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from rems.domain.errors import Conflict, DomainError, Refused
from rems.domain.model import (
    AuditEntry,
    Confirmation,
    Dispense,
    Patient,
    PregnancyReport,
    PrescriberSurvey,
    Prescription,
)
from rems.services.enrollment import certification, patients
from rems.services.lifecycle import new_id, new_number
from tests.races import race
from tests.service.builders import Scenario

RACES = 20
SUSPENSION_RACES = 30


def _second_open_authorization(s: Scenario, rx: Prescription) -> Prescription:
    """Another open authorization of the same patient, as a database from before R36 (one open
    authorization per patient) may hold; the dispense gate must still let only one through."""
    assert rx.number is not None
    prefix = rx.number.split("-")[0]
    with s.app.uow() as uow:
        source = uow.get(Prescription, rx.id)
        twin = dataclasses.replace(source, id=new_id("rx"), number=new_number(prefix), version=0)
        uow.add(twin)
        uow.flush()
        uow.add(PrescriberSurvey(id=new_id("psv"), prescriber_id=twin.prescriber_id,
                                 prescription_id=twin.id, completed_at=s.now))  # R19
        uow.commit()
        uow.session.expunge_all()
    return twin


def _rule_ids(error: BaseException) -> set[str]:
    return {f.rule for f in error.failures} if isinstance(error, Refused) else set()


def _two_confirmed_authorizations(s: Scenario, other_pharmacy: str) -> tuple[str, str]:
    s.enrolled("adult_male").ready()
    first = s.authorized()
    second = _second_open_authorization(s, first)
    assert first.number is not None and second.number is not None
    return (s.confirm(first.number).number, s.confirm(second.number, other_pharmacy).number)


def test_two_pharmacies_dispensing_two_authorizations_of_one_patient_dispense_once_r28_r33(
        scenario: Scenario) -> None:
    """R28 (supply on hand), R33: the second dispense, decided after the first committed, sees it."""
    s, other = scenario, scenario.new_pharmacy()
    doubles, losers = 0, []
    for _ in range(RACES):
        a, b = _two_confirmed_authorizations(s, other)
        results = race(partial(s.dispense, a), partial(s.dispense, b, other))
        dispensed = s.count(Dispense, Dispense.patient_id == s.patient_id)
        doubles += dispensed > 1
        assert dispensed >= 1, results  # one of them must win
        losers += [r for r in results if isinstance(r, Exception)]
    assert doubles == 0, f"{doubles} of {RACES} races dispensed twice"
    assert len(losers) == RACES
    # Writers serialise on both stores: the loser waited, then saw the winner's dispense.
    assert all("R28" in _rule_ids(loser) for loser in losers), losers


def _seq(s: Scenario, *where: Any) -> list[int]:
    rows = s.rows(AuditEntry, *where)
    return sorted(a.seq for a in rows if a.seq is not None)


def test_a_suspension_racing_a_dispense_is_always_applied_and_nothing_is_dispensed_after_it_r3(
        scenario: Scenario) -> None:
    """R3 (issue 13 item 9): the suspension never comes back as an unapplied 409; a dispense either
    committed before it (its audit entry is earlier in the chain) or is refused and voided."""
    s = scenario
    failed, dispensed = 0, 0
    for _ in range(SUSPENSION_RACES):
        s.certified_prescriber().enrolled("adult_male").ready()
        rx = s.authorized()
        assert rx.number is not None
        number = s.confirm(rx.number).number
        prescriber = s.prescriber_id
        suspension, dispense = race(
            partial(s.call, certification.change_certification, "prescriber", prescriber, "suspend",
                    s.program, actor="admin"),
            partial(s.dispense, number))
        if isinstance(suspension, Exception):  # counted, so that the report says how often
            failed += 1
            continue
        assert suspension.state == "suspended"
        suspended_at = _seq(s, AuditEntry.trigger == "suspend", AuditEntry.entity_id == prescriber)
        assert len(suspended_at) == 1  # applied exactly once, however many attempts it took
        dispense_seq = _seq(s, AuditEntry.entity == "prescription", AuditEntry.entity_id == rx.id,
                            AuditEntry.trigger == "dispense")
        if isinstance(dispense, Exception):
            assert isinstance(dispense, DomainError), repr(dispense)
            assert dispense_seq == [] and s.fetch(Prescription, rx.id).state == "voided"
        else:
            dispensed += 1
            assert dispense_seq and dispense_seq[0] < suspended_at[0]  # it committed first
            assert s.fetch(Prescription, rx.id).state == "dispensed"
    assert failed == 0, f"{failed} of {SUSPENSION_RACES} suspensions were not applied"


def test_a_pregnancy_report_racing_a_confirmation_applies_and_the_confirmation_is_void_r30(
        scenario: Scenario) -> None:
    """R30 (issue 13 item 9): the report always applies; the confirmation lost, or was voided."""
    s, failed = scenario, 0
    for _ in range(RACES):
        s.enrolled("adult_male").ready()
        rx = s.authorized()
        assert rx.number is not None
        number, patient = rx.number, s.patient_id
        report, confirmation = race(
            partial(s.call, patients.report_pregnancy, patient, "partner", actor="dr"),
            partial(s.confirm, number))
        if isinstance(report, Exception):
            failed += 1
            continue
        assert len(s.rows(PregnancyReport, PregnancyReport.patient_id == patient)) == 1
        assert s.fetch(Prescription, rx.id).state == "voided"
        if isinstance(confirmation, Exception):
            assert isinstance(confirmation, Refused | Conflict), repr(confirmation)
        assert all(c.state != "issued" for c in s.rows(Confirmation, Confirmation.prescription_id == rx.id))
    assert failed == 0, f"{failed} of {RACES} pregnancy reports were not applied"


def test_a_missed_period_racing_a_dispense_holds_the_patient_r12(scenario: Scenario) -> None:
    """R12 (issue 13 item 9): the hold is always recorded; a dispense either came first or is refused."""
    s, failed = scenario, 0
    for _ in range(RACES // 2):
        s.enrolled("adult_frp").ready()
        rx = s.authorized()
        assert rx.number is not None
        number, patient = s.confirm(rx.number).number, s.patient_id
        hold, dispense = race(partial(s.call, patients.report_missed_period, patient, actor="dr"),
                              partial(s.dispense, number))
        if isinstance(hold, Exception):
            failed += 1
            continue
        assert s.fetch(Patient, patient).state == "on_hold"
        held = _seq(s, AuditEntry.entity_id == patient, AuditEntry.trigger == "hold")
        done = _seq(s, AuditEntry.entity_id == rx.id, AuditEntry.trigger == "dispense")
        assert len(held) == 1 and (not done or done[0] < held[0]), (held, done, dispense)
    assert failed == 0, f"{failed} of {RACES // 2} missed periods were not applied"


def test_a_positive_test_racing_a_dispense_stops_the_patient_r30(scenario: Scenario) -> None:
    """R30 (issue 13 item 9): the positive test is always recorded and in force; a dispense either
    committed before it or is refused, and no authorization stays open."""
    s, failed = scenario, 0
    for _ in range(RACES // 2):
        s.enrolled("adult_frp").ready()
        rx = s.authorized()
        assert rx.number is not None
        number, patient = s.confirm(rx.number).number, s.patient_id
        positive, dispense = race(partial(s.pregnancy_test, "positive", 0.5, patient_id=patient),
                                  partial(s.dispense, number))
        if isinstance(positive, Exception):
            failed += 1
            continue
        assert s.fetch(Patient, patient).test_phase == "positive"
        assert len(s.rows(PregnancyReport, PregnancyReport.patient_id == patient)) == 1
        stopped = _seq(s, AuditEntry.entity == "pregnancy_report")
        done = _seq(s, AuditEntry.entity_id == rx.id, AuditEntry.trigger == "dispense")
        assert s.fetch(Prescription, rx.id).state in ("dispensed", "voided"), dispense
        assert not done or done[0] < stopped[-1], (done, stopped, dispense)
    assert failed == 0, f"{failed} of {RACES // 2} positive tests were not applied"


def test_a_request_that_read_its_clock_before_the_winner_still_sees_its_dispense_r28(
        scenario: Scenario) -> None:
    """R28: a dispense request whose clock was read before it waited for the lock (so the winner's
    dispense is stamped a little after its `now`) still counts that dispense."""
    s, other = scenario, scenario.new_pharmacy()
    a, b = _two_confirmed_authorizations(s, other)
    late = s.now
    s.advance(seconds=2).dispense(a)  # the winner committed while the loser waited
    s.now = late
    with pytest.raises(Refused) as refused:
        s.dispense(b, other)
    assert "R28" in _rule_ids(refused.value)
    assert s.count(Dispense, Dispense.patient_id == s.patient_id) == 1


def test_dispenses_to_two_enrollments_of_one_person_serialise_on_the_person_r28_r34(
        scenario: Scenario) -> None:
    """R34, R28: two enrollments of one person (from before R34 refused duplicates), dispensed at
    the same moment by two pharmacies: the person's lock lets one through."""
    s, other = scenario, scenario.new_pharmacy()
    doubles = 0
    for _ in range(RACES // 2):
        numbers: list[str] = []
        persons: list[str | None] = []
        for pharmacy in (s.pharmacy_id, other):
            s.enrolled("adult_male").ready()
            rx = s.authorized()
            assert rx.number is not None
            numbers.append(s.confirm(rx.number, pharmacy).number)
            persons.append(s.fetch(Patient, s.patient_id).person_id)
        first_patient = s.rows(Patient, Patient.person_id == persons[0])[0].id
        _same_person(s, s.patient_id, persons[0])
        results = race(partial(s.dispense, numbers[0]), partial(s.dispense, numbers[1], other))
        ids = (first_patient, s.patient_id)
        doubles += s.count(Dispense, Dispense.patient_id.in_(ids)) > 1
        assert any(not isinstance(r, Exception) for r in results), results
    assert doubles == 0, f"{doubles} of {RACES // 2} races dispensed to one person twice"


def _same_person(s: Scenario, patient_id: str, person_id: str | None) -> None:
    with s.app.uow() as uow:
        uow.get(Patient, patient_id).person_id = person_id
        uow.commit()


def _attempts_of(use_case: Callable[..., Any]) -> bool:
    return hasattr(use_case, "rems_always_applied")


@pytest.mark.parametrize("use_case", [certification.change_certification,
                                      patients.record_pregnancy_test, patients.report_pregnancy,
                                      patients.report_missed_period])
def test_every_safety_action_is_retried_until_applied(use_case: Callable[..., Any]) -> None:
    """Issue 13 item 9: the suspension/revocation, positive test, pregnancy report and missed
    period use cases carry the retry (rems/services/dispensing/retry.py)."""
    assert _attempts_of(use_case)
