"""In-memory stand-ins for the service functions whose ports (lanes gate, due and records) have no
in-memory adapter in FakeUnitOfWork yet (issue 19 item 1). `install(monkeypatch)` puts them in
place for a test on the fake; once those adapters join FakeUnitOfWork (blocks `# lane gate`,
`# lane due`, `# lane records`), this module goes.

- the gate's reads (rems/services/dispensing/records.py): the Records composed from the
  repositories of the port, with R34's scopes (the person's tests, reports and lab results in every
  enrollment; dispenses and surveys in this program's enrollments);
- the program's recorded lifecycle changes (rems/services/programs/program_status.py): the
  ProgramStatusChange records added to the fake;
- the closing-the-loop routes (rems/services/reminders/loop.py): none configured, so nothing is
  queued;
- the safety retry (rems/services/dispensing/retry.py): the use case runs once (one thread, no race).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from rems.domain.errors import NotFound
from rems.domain.gate import Records
from rems.domain.lifecycle import ProgramStatusChange
from rems.domain.model import Confirmation, Counselling, Patient, Pharmacy, Prescriber, Prescription
from tests.fakes.uow import FakeUnitOfWork


def load_records(uow: FakeUnitOfWork, patient: Patient, prescription: Prescription | None = None,
                 pharmacy: Pharmacy | None = None, confirmation: Confirmation | None = None,
                 counselling: Counselling | None = None) -> Records:
    prescriber_id = prescription.prescriber_id if prescription else patient.prescriber_id
    prescriber = uow.get(Prescriber, prescriber_id)
    person, program = patient.person_id, patient.program_id
    if person:
        history: dict[str, Any] = {
            "tests": uow.persons.tests(person), "patient_surveys": uow.persons.surveys(person, program),
            "dispenses": uow.persons.dispenses(person, program), "lab_results": uow.persons.lab_results(person),
            "pregnancy_reports": uow.persons.pregnancy_reports(person),
            "readmitted_at": uow.persons.readmitted_at(person, program)}
    else:
        history = {"tests": uow.patients.tests(patient.id), "patient_surveys": uow.patients.surveys(patient.id),
                   "dispenses": uow.patients.dispenses(patient.id), "lab_results": uow.patients.lab_results(patient.id)}
    return Records(
        patient=patient, prescriber=prescriber, prescription=prescription, ppafs=uow.patients.ppafs(patient.id),
        prescriber_survey_done=prescription is not None and uow.prescriptions.survey_done(prescription.id),
        pharmacy=pharmacy, confirmation=confirmation, counselling=counselling,
        prescriber_certification=uow.certifications.of("prescriber", prescriber_id, program),
        pharmacy_certification=uow.certifications.of("pharmacy", pharmacy.id, program) if pharmacy else None,
        **history)


def load_check(uow: FakeUnitOfWork, number: str, pharmacy_id: str,
               patient_id: str | None = None) -> tuple[Prescription, Pharmacy, Records]:
    pharmacy = uow.get(Pharmacy, pharmacy_id)
    rx = uow.prescriptions.by_number(number)
    if patient_id is not None and patient_id != rx.patient_id:
        raise NotFound("authorization", number)
    return rx, pharmacy, load_records(uow, uow.get(Patient, rx.patient_id), rx, pharmacy)


def changes(uow: FakeUnitOfWork, program_id: str) -> Sequence[ProgramStatusChange]:
    return uow.find(ProgramStatusChange, lambda c: c.program_id == program_id, lambda c: c.recorded_at)


def install(monkeypatch: pytest.MonkeyPatch) -> None:
    from rems.services.dispensing import prescriptions, retry
    from rems.services.programs import program_status
    from rems.services.reminders import loop

    monkeypatch.setattr(prescriptions, "load_records", load_records)
    monkeypatch.setattr(prescriptions, "load_check", load_check)
    monkeypatch.setattr(program_status, "changes", changes)
    monkeypatch.setattr(loop, "_routes", lambda uow: loop.Routes())
    monkeypatch.setattr(retry, "_fresh", lambda uow: False)
