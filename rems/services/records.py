"""Load what the gate reads for one patient (the gate itself stays pure)."""

from __future__ import annotations

from rems.domain.gate import Records
from rems.domain.model import Confirmation, Counselling, Patient, Pharmacy, Prescriber, Prescription
from rems.services.uow import UnitOfWork


def load_records(uow: UnitOfWork, patient: Patient, prescription: Prescription | None = None,
                 pharmacy: Pharmacy | None = None, confirmation: Confirmation | None = None,
                 counselling: Counselling | None = None) -> Records:
    prescriber_id = prescription.prescriber_id if prescription else patient.prescriber_id
    return Records(
        patient=patient, prescriber=uow.get(Prescriber, prescriber_id), prescription=prescription,
        ppafs=uow.ppafs(patient.id), tests=uow.tests(patient.id),
        patient_surveys=uow.patient_surveys(patient.id),
        prescriber_survey_done=prescription is not None and uow.prescriber_survey_done(prescription.id),
        dispenses=uow.dispenses(patient.id), pharmacy=pharmacy, confirmation=confirmation,
        counselling=counselling,
        # R1, R25: the certifications in the patient's program only
        prescriber_certification=uow.certification("prescriber", prescriber_id, patient.program_id),
        pharmacy_certification=(uow.certification("pharmacy", pharmacy.id, patient.program_id)
                                if pharmacy else None))
