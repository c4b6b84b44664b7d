"""What a prescriber sees of a patient: every gate green or red, and what is due next."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rems.domain import gate
from rems.domain.categories import FRP_CATEGORIES, category_of, next_category_change
from rems.domain.errors import NotFound
from rems.domain.model import Patient, Pharmacy
from rems.domain.testing import next_test_due
from rems.services.records import load_records
from rems.services.uow import Context, UnitOfWork

_STAGE_OF = {"requested": "authorize", "authorized": "confirm", "confirmed": "dispense"}


def _due(kind: str, rule: str, at: datetime | None, now: datetime) -> dict[str, Any] | None:
    if at is None:
        return None
    return {"what": kind, "rule": rule, "due": at.isoformat(), "overdue": at < now}


def patient_status(uow: UnitOfWork, ctx: Context, patient_id: str,
                   prescriber_id: str | None = None) -> dict[str, Any]:
    patient = uow.get(Patient, patient_id)
    if prescriber_id is not None and patient.prescriber_id != prescriber_id:
        raise NotFound("patient", patient_id)
    program = uow.program(patient.program_id)
    params = program.at(ctx.now)
    records = load_records(uow, patient)
    category = category_of(patient, ctx.now.date(), params)
    readiness = gate.evaluate("readiness", records, program, ctx.now)
    due: list[dict[str, Any] | None] = []
    if category in FRP_CATEGORIES:
        due.append(_due("pregnancy test", "R11", next_test_due(
            records.tests, records.ppafs, records.dispenses, patient.cycles_regular, ctx.now, params),
            ctx.now))
    rule = params.survey[category]
    done = [s.completed_at for s in records.patient_surveys]
    if done:
        due.append(_due("patient survey", "R20", max(done) + timedelta(days=rule.interval_days), ctx.now))
    change = next_category_change(patient, ctx.now.date(), params)
    if change is not None:
        due.append({"what": "new PPAF (category changes)", "rule": "R8", "due": change.isoformat(),
                    "overdue": False})
    if records.dispenses:
        last = records.dispenses[-1]
        opens = last.dispensed_at + timedelta(days=last.days_supply - params.refill_window_days)
        due.append({"what": "next dispense window opens", "rule": "R28", "due": opens.isoformat(),
                    "overdue": False})
    prescriptions = []
    for rx in uow.prescriptions(patient_id=patient.id):
        entry: dict[str, Any] = {"id": rx.id, "number": rx.number, "state": rx.state,
                                 "category": rx.category, "days_supply": rx.days_supply,
                                 "expires_at": rx.expires_at.isoformat() if rx.expires_at else None}
        stage = _STAGE_OF.get(rx.state)
        if stage is not None:
            live = uow.live_confirmation(rx.id)
            pharmacy = uow.get(Pharmacy, live.pharmacy_id) if live else None
            decision = gate.evaluate(stage, load_records(uow, patient, rx, pharmacy, live), program,
                                     ctx.now)
            # Counselling (R29) happens at the counter; the pharmacy's own gates are the pharmacy's.
            hidden = {"R29_COUNSELLING_INCOMPLETE"} | (
                {"R25_PHARMACY_NOT_CERTIFIED", "R26_CONFIRMATION_INVALID"} if stage == "confirm" else set())
            entry["failures"] = [f.as_dict() for f in decision.failures if f.code not in hidden]
            due.append(_due("authorization expires", "R23", rx.expires_at, ctx.now))
        prescriptions.append(entry)
    return {
        "patient_id": patient.id, "program": program.id, "state": patient.state,
        "category": category, "ppaf_category": records.ppaf.category if records.ppaf else None,
        "test_phase": patient.test_phase, "ready": readiness.allowed,
        "gates": [r.as_dict() for r in readiness.requirements],
        "due_next": sorted((d for d in due if d), key=lambda d: d["due"]),
        "prescriptions": prescriptions,
    }


def patients_status(uow: UnitOfWork, ctx: Context, prescriber_id: str, limit: int = 50,
                    offset: int = 0) -> list[dict[str, Any]]:
    """A prescriber's own patients, oldest enrollment first, each as `patient_status` shows it."""
    return [patient_status(uow, ctx, p.id, prescriber_id)
            for p in uow.patients_of(prescriber_id, limit, offset)]
