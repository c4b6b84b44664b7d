"""Load what the gate reads for one patient (the gate itself stays pure).

R34: the safety history is the PERSON's: tests and pregnancy reports of every enrollment in every
program; dispenses (R28) and patient surveys of every enrollment in this program; the
administrator's latest readmission decision in this program; lab results (issue 17 item 1) are
the person's in every enrollment and program, as tests are.

Issue 14 item 2: two statements (rems/services/dispensing/gate_reads.py), the check's own lookups included.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection

from rems.adapters import orm
from rems.adapters.uow import UnitOfWork
from rems.domain.errors import NotFound
from rems.domain.gate import Records
from rems.domain.model import (
    Certification,
    Confirmation,
    Counselling,
    Patient,
    Pharmacy,
    Prescriber,
    Prescription,
)
from rems.services.dispensing import gate_reads as reads


def _utc(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:  # SQLite's aggregate skips the column type
        return moment.replace(tzinfo=UTC)
    return moment


def _records(connection: Connection, head: reads.Head, patient: Patient, prescription: Prescription | None,
             pharmacy: Pharmacy | None, confirmation: Confirmation | None,
             counselling: Counselling | None) -> Records:
    found = reads.history(connection, patient)
    person = patient.person_id
    return Records(
        patient=patient, prescriber=reads.build(Prescriber, orm.prescribers, "pr", head),
        prescription=prescription, ppafs=found["1ppaf"], tests=found["2test"],
        patient_surveys=found["3survey"],
        prescriber_survey_done=prescription is not None and bool(head["survey_done"]),
        dispenses=found["4dispense"], pharmacy=pharmacy, confirmation=confirmation, counselling=counselling,
        # R1, R25: the certifications in the patient's program only
        prescriber_certification=reads.built_or_none(Certification, orm.certifications, "pc", head),
        pharmacy_certification=(reads.built_or_none(Certification, orm.certifications, "hc", head)
                                if pharmacy else None),
        pregnancy_reports=found["5report"] if person else (),
        readmitted_at=_utc(head["readmitted_at"]) if person else None, lab_results=found["6lab"])


def load_records(uow: UnitOfWork, patient: Patient, prescription: Prescription | None = None,
                 pharmacy: Pharmacy | None = None, confirmation: Confirmation | None = None,
                 counselling: Counselling | None = None) -> Records:
    prescriber_id = prescription.prescriber_id if prescription else patient.prescriber_id
    connection = uow.connection()
    head = reads.head(connection, reads.context_statement, {
        "prescriber_id": prescriber_id, "program_id": patient.program_id, "person_id": patient.person_id,
        "prescription_id": prescription.id if prescription else None,
        "pharmacy_id": pharmacy.id if pharmacy else None})
    if head is None:
        raise NotFound("prescriber", prescriber_id)
    return _records(connection, head, patient, prescription, pharmacy, confirmation, counselling)


def load_check(uow: UnitOfWork, number: str, pharmacy_id: str,
               patient_id: str | None = None) -> tuple[Prescription, Pharmacy, Records]:
    """The check's authorization (by number), its patient, the pharmacy and the gate's records, in
    two statements; `patient_id`, if given, must be the authorization's (else NotFound)."""
    connection = uow.connection()
    head = reads.head(connection, reads.check_statement, {"number": number, "pharmacy_id": pharmacy_id})
    if head is None or head["ph_id"] is None:
        uow.get(Pharmacy, pharmacy_id)  # an unknown pharmacy is named as such, as before
        raise NotFound("authorization", number)
    rx = reads.build(Prescription, orm.prescriptions, "rx", head)
    if patient_id is not None and patient_id != rx.patient_id:
        raise NotFound("authorization", number)  # never confirm a number for someone else
    pharmacy = reads.build(Pharmacy, orm.pharmacies, "ph", head)
    patient = reads.build(Patient, orm.patients, "pt", head)
    return rx, pharmacy, _records(connection, head, patient, rx, pharmacy, None, None)
