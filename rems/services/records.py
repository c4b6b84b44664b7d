"""Load what the gate reads for one patient (the gate itself stays pure).

R34: the safety history is the PERSON's: tests and pregnancy reports of every enrollment in every
program; dispenses (R28) and patient surveys of every enrollment in this program; the
administrator's latest readmission decision in this program.
"""

from __future__ import annotations

from rems.domain.gate import Records
from rems.domain.model import Confirmation, Counselling, Patient, Pharmacy, Prescriber, Prescription
from rems.services.uow import UnitOfWork


def load_records(uow: UnitOfWork, patient: Patient, prescription: Prescription | None = None,
                 pharmacy: Pharmacy | None = None, confirmation: Confirmation | None = None,
                 counselling: Counselling | None = None) -> Records:
    prescriber_id = prescription.prescriber_id if prescription else patient.prescriber_id
    person, program = patient.person_id, patient.program_id
    return Records(
        patient=patient, prescriber=uow.get(Prescriber, prescriber_id), prescription=prescription,
        ppafs=uow.ppafs(patient.id),
        tests=uow.person_tests(person) if person else uow.tests(patient.id),
        patient_surveys=(uow.person_patient_surveys(person, program) if person
                         else uow.patient_surveys(patient.id)),
        prescriber_survey_done=prescription is not None and uow.prescriber_survey_done(prescription.id),
        dispenses=uow.person_dispenses(person, program) if person else uow.dispenses(patient.id),
        pharmacy=pharmacy, confirmation=confirmation, counselling=counselling,
        # R1, R25: the certifications in the patient's program only
        prescriber_certification=uow.certification("prescriber", prescriber_id, program),
        pharmacy_certification=uow.certification("pharmacy", pharmacy.id, program) if pharmacy else None,
        pregnancy_reports=uow.person_pregnancy_reports(person) if person else (),
        readmitted_at=uow.readmitted_at(person, program) if person else None)
