"""Load what the gate reads for one patient (the gate itself stays pure).

R34: the safety history is the PERSON's: tests and pregnancy reports of every enrollment in every
program; dispenses (R28) and patient surveys of every enrollment in this program; the
administrator's latest readmission decision in this program; lab results (issue 17 item 1) are
the person's in every enrollment and program, as tests are.

Issue 14 item 2: two statements (rems/adapters/gate_reads.py, `uow.gate`), the check's own lookups
included; here, what to load and what is not found.
"""

from __future__ import annotations

from rems.adapters.uow import UnitOfWork
from rems.domain.errors import NotFound
from rems.domain.gate import Records
from rems.domain.model import Confirmation, Counselling, Patient, Pharmacy, Prescription


def load_records(uow: UnitOfWork, patient: Patient, prescription: Prescription | None = None,
                 pharmacy: Pharmacy | None = None, confirmation: Confirmation | None = None,
                 counselling: Counselling | None = None) -> Records:
    prescriber_id = prescription.prescriber_id if prescription else patient.prescriber_id
    records = uow.gate.records(prescriber_id, patient, prescription, pharmacy, confirmation, counselling)
    if records is None:
        raise NotFound("prescriber", prescriber_id)
    return records


def load_check(uow: UnitOfWork, number: str, pharmacy_id: str,
               patient_id: str | None = None) -> tuple[Prescription, Pharmacy, Records]:
    """The check's authorization (by number), its patient, the pharmacy and the gate's records, in
    two statements; `patient_id`, if given, must be the authorization's (else NotFound)."""
    head = uow.gate.check(number, pharmacy_id)
    if head is None or head.pharmacy is None:
        uow.get(Pharmacy, pharmacy_id)  # an unknown pharmacy is named as such, as before
        raise NotFound("authorization", number)
    rx = head.prescription
    if patient_id is not None and patient_id != rx.patient_id:
        raise NotFound("authorization", number)  # never confirm a number for someone else
    return rx, head.pharmacy, head.records()
