"""The person behind enrollments (R34): duplicates refused, history followed across records and
programs, readmission after a pregnancy stop only on the administrator's decision, transfers."""

from __future__ import annotations

import pytest

from rems.adapters.uow import UnitOfWork
from rems.domain.errors import Conflict, InvalidInput, NotFound, Refused
from rems.domain.gate import Records
from rems.domain.model import AuditEntry, Patient, Person, PersonIdentifier, Prescription, ReadmissionDecision
from rems.services.commands import DecideReadmission, TransferPatient, parse
from rems.services.dispensing.records import load_records
from rems.services.enrollment import patients, persons
from tests.races import race
from tests.service.builders import Scenario, codes

MRN = {"system": "urn:hospital-a:mrn", "value": "MRN-0042"}


def _again(s: Scenario, first: Patient, **overrides: object) -> Patient:
    """Enrol the same person again: the same identity as `first` (a spelling variant of the name)."""
    last, given = first.name.split(" ", 1)[::-1][0], first.name.split(" ", 1)[0]
    program, prescriber = overrides.get("program_id"), overrides.get("prescriber_id", s.prescriber_id)
    if isinstance(program, str) and s.certification("prescriber", str(prescriber), program) is None:
        s.certify("prescriber", str(prescriber), program=program)  # R1: certified in that program too
    cmd = s.enroll_command(s.category, name=f"{last.upper()}, {given}", birth_date=first.birth_date,
                           **overrides)
    return s.call(patients.enroll_patient, cmd, actor="dr")


def _readmit(s: Scenario, patient_id: str, program_id: str | None = None) -> ReadmissionDecision:
    return s.call(persons.decide_readmission, parse(
        DecideReadmission, patient_id=patient_id, program_id=program_id,
        reason="reviewed with the patient: therapy may resume"), actor="admin")


def test_the_same_man_enrolled_twice_is_refused_at_enrollment_r34(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male")
    first = s.fetch(Patient, s.patient_id)
    other = s.new_prescriber()
    for prescriber in (s.prescriber_id, other):  # his own prescriber, or another one
        with pytest.raises(Refused) as refused:
            _again(s, first, prescriber_id=prescriber)
        assert codes(refused.value) == ["R34_ALREADY_ENROLLED"]
        message = str(refused.value)
        assert "transfer" in message and "administrator" in message  # says what to do
        assert first.id not in message and s.prescriber_id not in message  # shows nothing of it
        assert first.name not in message
    assert s.count(Patient) == 1 and s.count(Person) == 1


def test_an_identifier_of_another_identity_is_refused_naming_the_field_r34(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male", identifiers=[MRN])
    first = s.fetch(Patient, s.patient_id)
    assert [(i.person_id, i.value) for i in s.rows(PersonIdentifier)] == [(first.person_id, "MRN-0042")]
    # The same MRN under another name: not a new person, and not silently the old one either.
    with pytest.raises(InvalidInput) as invalid:
        s.enrolled("adult_male", name="Someone Else", birth_date=first.birth_date,
                   identifiers=[{"system": "urn:other", "value": "x"}, MRN])
    assert invalid.value.field == "identifiers.1.value"
    assert s.count(Patient) == 1 and s.count(PersonIdentifier) == 1 and s.count(Person) == 1
    # The same MRN in another system is another identifier: a new person may carry it.
    s.enrolled("adult_male", name="Someone Else", identifiers=[{**MRN, "system": "urn:hospital-b:mrn"}])
    assert s.count(Person) == 2


def test_one_person_may_be_enrolled_once_in_each_program_r34(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male")
    first = s.fetch(Patient, s.patient_id)
    second = _again(s, first, program_id="lenalidomide")
    assert second.person_id == first.person_id and second.id != first.id


def test_enrolling_again_after_a_plain_discontinuation_links_the_same_person_r34(
        scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male")
    first = s.fetch(Patient, s.patient_id)
    s.call(patients.change_state, first.id, "discontinue", actor="dr")
    second = _again(s, first)
    assert second.person_id == first.person_id and second.state == "active"


def test_two_enrollments_of_one_person_racing_end_with_one_r34(scenario: Scenario) -> None:
    s = scenario
    for attempt in range(2):  # the person new (unique identity index), then known (its row locked)
        name = "Race Person"
        if attempt:
            s.call(patients.change_state, s.rows(Patient)[0].id, "discontinue", actor="dr")
        commands = [s.enroll_command("adult_male", name=name, birth_date=s.now.date().replace(year=1970))
                    for _ in range(2)]
        results = race(*[lambda c=c: s.call(patients.enroll_patient, c) for c in commands])
        won = [r for r in results if isinstance(r, Patient)]
        assert len(won) == 1, results
        assert all(isinstance(r, Refused | Conflict) for r in results if r not in won), results
        assert s.count(Patient, Patient.state == "active") == 1
    assert s.count(Person) == 1


def test_discontinued_enrolled_again_and_tested_before_the_positive_one_is_refused_r34(
        scenario: Scenario) -> None:
    """The issue's case: a positive test, a discontinuation, a new enrollment, and negative tests
    collected before the positive one: no authorization (R34, R30)."""
    s = scenario.enrolled("adult_frp")
    first = s.fetch(Patient, s.patient_id)
    s.pregnancy_test("positive", hours_ago=3)
    s.call(patients.change_state, first.id, "discontinue", actor="dr")

    with pytest.raises(Refused) as refused:  # no decision yet
        _again(s, first)
    assert codes(refused.value) == ["R34_READMISSION_DECISION_MISSING"]
    assert s.count(Patient) == 1

    _readmit(s, first.id)
    s.advance(hours=1)
    second = _again(s, first)
    assert second.person_id == first.person_id
    s.patient_id = second.id
    s.pregnancy_test("negative", hours_ago=12 * 24)   # R9's early window, before the positive
    s.pregnancy_test("negative", hours_ago=5)          # within 24 h, still before the positive
    s.survey()
    outcome = s.request()
    assert not outcome.decision.allowed
    assert outcome.prescription.number is None
    assert s.fetch(Prescription, outcome.prescription.id).state == "requested"


def test_readmission_needs_a_decision_after_the_latest_stop_r34(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male")
    first = s.fetch(Patient, s.patient_id)
    with pytest.raises(InvalidInput) as nothing_to_decide:  # never stopped: no decision to make
        _readmit(s, first.id)
    assert nothing_to_decide.value.field == "patient_id"

    s.call(patients.report_pregnancy, first.id, "partner", actor="dr")
    decision = _readmit(s, first.id)
    entry, = s.audit("person", first.person_id or "")
    assert (entry.trigger, entry.refs) == ("readmit", {"decision": decision.id, "program": "pomalidomide",
                                                       "patient": first.id})
    assert "reviewed" not in str(entry.reasons)  # the reason stays in the decision, not the log

    s.advance(days=1)
    s.call(patients.report_pregnancy, first.id, "partner", actor="dr")  # a later stop
    s.call(patients.change_state, first.id, "discontinue", actor="dr")
    with pytest.raises(Refused) as refused:  # the earlier decision predates it
        _again(s, first)
    assert codes(refused.value) == ["R34_READMISSION_DECISION_MISSING"]
    _readmit(s, first.id, "lenalidomide")
    with pytest.raises(Refused):  # a decision for another program does not count here
        _again(s, first)
    _readmit(s, first.id)
    assert _again(s, first).person_id == first.person_id


def test_a_positive_test_on_one_record_stops_the_other_r34_r30(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_frp").ready()
    first = s.fetch(Patient, s.patient_id)
    second = _again(s, first, program_id="lenalidomide")
    s.patient_id = second.id
    s.pregnancy_test("negative", hours_ago=2)
    s.survey()
    other_rx = s.authorized()

    s.patient_id = first.id
    s.advance(hours=1)
    s.pregnancy_test("positive", hours_ago=1)

    stopped = s.fetch(Patient, second.id)
    assert (stopped.state, stopped.test_phase) == ("pregnancy_stop", "positive")
    assert s.fetch(Prescription, other_rx.id).state == "voided"
    assert s.trail("patient", second.id)[-1] == ("report_pregnancy", "active", "pregnancy_stop")
    s.patient_id = second.id
    assert "R30_POSITIVE_TEST" in codes(s.request().decision)


def test_a_partners_pregnancy_on_one_record_stops_the_mans_other_record_r34_r30(
        scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male").ready()
    first = s.fetch(Patient, s.patient_id)
    second = _again(s, first, program_id="lenalidomide")
    s.call(patients.report_pregnancy, first.id, "partner", actor="dr")
    assert s.fetch(Patient, second.id).state == "pregnancy_stop"
    s.patient_id = second.id
    assert "R30_PREGNANCY_REPORTED" in codes(s.request().decision)


def test_a_transfer_keeps_the_record_and_its_history_and_voids_the_old_authorization_r34(
        scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male").ready()
    old = s.prescriber_id
    s.dispensed()
    s.advance(days=10).survey()
    open_rx = s.authorized()
    new = s.new_prescriber()

    done = s.call(persons.transfer_patient, parse(TransferPatient, patient_id=s.patient_id,
                                                  to_prescriber_id=new), actor="admin")
    assert (done.patient.id, done.patient.prescriber_id) == (s.patient_id, new)
    assert (done.from_prescriber_id, done.voided_authorizations) == (old, 1)
    assert s.fetch(Prescription, open_rx.id).state == "voided"
    entry = s.audit("patient", s.patient_id)[-1]
    assert (entry.trigger, entry.actor) == ("transfer", "admin")
    assert entry.refs == {"from_prescriber": old, "to_prescriber": new, "voided": "1"}  # ids only

    with pytest.raises(NotFound):  # the old prescriber no longer sees the patient
        s.call(patients.report_missed_period, s.patient_id, old)
    s.prescriber_id = new
    rx = s.authorized()
    assert rx.number is not None
    with pytest.raises(Refused) as too_early:  # the dispense before the transfer still counts (R28)
        s.confirm(rx.number)
    assert "R28" in {f.rule for f in too_early.value.failures}
    s.advance(days=12).survey()
    dispense = s.dispense(s.confirm(rx.number).number)
    assert dispense.patient_id == s.patient_id


def test_a_transfer_needs_a_live_record_and_a_prescriber_certified_in_the_program_r34_r1(
        scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male")
    uncertified = s.new_prescriber(certify=False)
    for prescriber, error in ((uncertified, Refused), (s.prescriber_id, InvalidInput),
                              ("prs_missing", NotFound)):
        with pytest.raises(error):
            s.call(persons.transfer_patient, parse(TransferPatient, patient_id=s.patient_id,
                                                   to_prescriber_id=prescriber), actor="admin")
    s.call(patients.change_state, s.patient_id, "discontinue", actor="dr")
    with pytest.raises(Conflict):
        s.call(persons.transfer_patient, parse(TransferPatient, patient_id=s.patient_id,
                                               to_prescriber_id=s.new_prescriber()), actor="admin")
    assert s.fetch(Patient, s.patient_id).prescriber_id == s.prescriber_id
    assert s.count(AuditEntry, AuditEntry.trigger == "transfer") == 0


def test_the_gate_reads_the_persons_history_across_records_r34(scenario: Scenario) -> None:
    """What records.py loads for one enrollment: tests and pregnancy reports of every enrollment in
    every program; dispenses and patient surveys of every enrollment in this program; the latest
    readmission decision in this program."""
    s = scenario.enrolled("adult_male").ready()
    first = s.fetch(Patient, s.patient_id)
    s.dispensed()
    elsewhere = _again(s, first, program_id="lenalidomide")
    s.patient_id = elsewhere.id
    s.certify("pharmacy", s.pharmacy_id, program="lenalidomide")  # R25: per program
    s.survey().dispensed()
    s.call(patients.report_pregnancy, elsewhere.id, "partner", actor="dr")
    s.call(patients.change_state, first.id, "discontinue", actor="dr")
    decision = _readmit(s, first.id)
    s.patient_id = first.id
    with pytest.raises(Refused) as still_stopped:  # the lenalidomide record still blocks (R34)
        _again(s, first)
    assert codes(still_stopped.value) == ["R34_PREGNANCY_STOP_OPEN"]
    s.call(patients.change_state, elsewhere.id, "discontinue", actor="dr")
    again = _again(s, first)

    def load(uow: UnitOfWork) -> Records:
        return load_records(uow, uow.get(Patient, again.id))
    records = s.read(load)
    assert {d.patient_id for d in records.dispenses} == {first.id}  # this program's, not lenalidomide's
    assert {v.patient_id for v in records.patient_surveys} == {first.id}
    assert [r.patient_id for r in records.pregnancy_reports] == [elsewhere.id]  # every program's
    assert records.readmitted_at == decision.decided_at
    assert records.readmitted_at is not None and records.readmitted_at.tzinfo is not None
