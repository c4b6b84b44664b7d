"""One patient's full history, in order, as the audit trail tells it (issue 6)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rems.adapters.uow import UnitOfWork
from rems.domain.model import Patient
from rems.services.context import Context
from rems.services.dispensing.refusals import ENTITY as GATE


@dataclass(frozen=True)
class HistoryEntry:
    seq: int | None  # place in the hash chain
    at: datetime
    actor: str
    entity: str
    entity_id: str
    trigger: str
    from_state: str | None
    to_state: str | None
    rules: list[str]  # the codes of the reasons recorded (failing rules of a refusal)
    request_id: str | None


@dataclass(frozen=True)
class PatientHistory:
    patient_id: str
    entries: list[HistoryEntry]


def patient_history(uow: UnitOfWork, ctx: Context, patient_id: str) -> PatientHistory:
    """Every entry about the patient or one of their records, in chain order; ids only."""
    uow.get(Patient, patient_id)  # NotFound for an unknown patient
    rows = uow.reports.patient_trail(patient_id, GATE)
    return PatientHistory(patient_id, [
        HistoryEntry(r["seq"], r["at"], r["actor"], r["entity"], r["entity_id"], r["trigger"],
                     r["from_state"], r["to_state"],
                     [str(x.get("code")) for x in r["reasons"] or [] if isinstance(x, dict)],
                     r["request_id"]) for r in rows])
