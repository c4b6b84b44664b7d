"""One patient's full history, in order, as the audit trail tells it (issue 6)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select

from rems.adapters import orm
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
    t, rx, c = orm.audit_log.c, orm.prescriptions.c, orm.confirmations.c
    prescriptions = select(rx.id).where(rx.patient_id == patient_id)
    owned = {  # entity -> the ids of this patient's records of that kind
        "prescription": prescriptions, GATE: prescriptions,
        "confirmation": select(c.id).where(c.prescription_id.in_(prescriptions)),
        "pregnancy_test": select(orm.pregnancy_tests.c.id).where(
            orm.pregnancy_tests.c.patient_id == patient_id),
        "patient_survey": select(orm.patient_surveys.c.id).where(
            orm.patient_surveys.c.patient_id == patient_id),
        "pregnancy_report": select(orm.pregnancy_reports.c.id).where(
            orm.pregnancy_reports.c.patient_id == patient_id),
    }
    notifications = getattr(orm, "notifications", None)  # issue 4's reminders, when present
    if notifications is not None:
        n = notifications.c
        owned["notification"] = select(n.id).where(or_(n.recipient == f"patient:{patient_id}",
                                                       n.subject == patient_id))
    where = or_(and_(t.entity.in_(("patient", "pregnancy_testing")), t.entity_id == patient_id),
                *(and_(t.entity == entity, t.entity_id.in_(ids)) for entity, ids in owned.items()))
    rows = uow.session.execute(select(orm.audit_log).where(where)
                               .order_by(t.seq.is_(None), t.seq, t.id)).mappings()
    return PatientHistory(patient_id, [
        HistoryEntry(r["seq"], r["at"], r["actor"], r["entity"], r["entity_id"], r["trigger"],
                     r["from_state"], r["to_state"],
                     [str(x.get("code")) for x in r["reasons"] or [] if isinstance(x, dict)],
                     r["request_id"]) for r in rows])
