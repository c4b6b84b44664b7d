"""The gate's answer for every open authorization of a program at one instant (issue 17 item 8).

Open: requested, authorized or confirmed (R36's states). Each is asked its next step: a requested
prescription the authorize stage (with the patient's other open prescriptions, as the
authorization does); an authorized one the confirm stage with no pharmacy yet (R25 answers for the
missing pharmacy); a confirmed one the dispense stage with its live confirmation and its pharmacy,
the counselling checklist stated complete (R29), so the answer is about every other requirement. The records come from the services' own
loader (rems/services/dispensing/records.py), so the copy is asked exactly what the engine asks.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from rems.domain import gate, schedule
from rems.domain.catalogue import STAGE_OF_STATE
from rems.domain.instants import instant
from rems.domain.model import Confirmation, Counselling, Patient, Pharmacy, Prescription
from rems.services.dispensing.records import load_records
from rems.services.ports import UnitOfWork

_STAGES = STAGE_OF_STATE
COUNSELLED = Counselling(counselled=True, education_checklist_completed=True, medication_guide_given=True)


def open_prescriptions(uow: UnitOfWork, program_id: str) -> list[Prescription]:
    return uow.transfer.open_prescriptions(program_id, schedule.OPEN_STATES)


def answer(uow: UnitOfWork, rx: Prescription, at: datetime) -> dict[str, Any]:
    """The gate's decision for one open prescription at `at`, as one gate_answers line."""
    patient = uow.get(Patient, rx.patient_id)
    live: Confirmation | None = uow.confirmations.live(rx.id)
    pharmacy = uow.get(Pharmacy, live.pharmacy_id) if live is not None else None
    stage = _STAGES[rx.state]
    records = load_records(uow, patient, rx, pharmacy=pharmacy, confirmation=live,
                           counselling=COUNSELLED if stage == "dispense" else None)
    if stage == "authorize":  # R36: as the authorization itself reads them
        records = replace(records, other_prescriptions=uow.prescriptions.matching(
            patient_id=patient.id, states=schedule.OPEN_STATES))
    decision = gate.evaluate(stage, records, uow.program(rx.program_id), at)
    return {"prescription_id": rx.id, "number": rx.number, "state": rx.state, "stage": stage,
            "pharmacy_id": pharmacy.id if pharmacy else None, "at": instant(at),
            "decision": decision.as_dict()}


def answers(uow: UnitOfWork, program_id: str, at: datetime) -> list[dict[str, Any]]:
    return [answer(uow, rx, at) for rx in open_prescriptions(uow, program_id)]
