"""What a prescriber sees of a patient: every gate green or red, and what is due next."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from rems.domain import gate, labs, schedule
from rems.domain.calendar import day_end
from rems.domain.catalogue import (
    R25_PHARMACY_NOT_CERTIFIED,
    R26_CONFIRMATION_INVALID,
    R29_COUNSELLING_INCOMPLETE,
    STAGE_OF_STATE,
)
from rems.domain.errors import NotFound
from rems.domain.model import Patient, Pharmacy
from rems.services.context import Context
from rems.services.dispensing.records import load_records
from rems.services.ports import UnitOfWork
from rems.services.programs import program_status

_STAGE_OF = STAGE_OF_STATE


def _due(kind: str, rule: str, at: datetime | None, now: datetime) -> dict[str, Any] | None:
    if at is None:
        return None
    return {"what": kind, "rule": rule, "due": at.isoformat(), "overdue": at <= now}


def patient_status(uow: UnitOfWork, ctx: Context, patient_id: str,
                   prescriber_id: str | None = None) -> dict[str, Any]:
    patient = uow.get(Patient, patient_id)
    if prescriber_id is not None and patient.prescriber_id != prescriber_id:
        raise NotFound("patient", patient_id)
    program = uow.program(patient.program_id)
    params, tz = schedule.params_at(program, ctx.now), schedule.patient_tz(patient, program)
    records = load_records(uow, patient)
    category = schedule.current_category(patient, program, ctx.now)
    readiness = gate.evaluate("readiness", records, program, ctx.now)
    # Every date below comes from rems.domain.schedule, as the gate's own (issue 13, item 7).
    due: list[dict[str, Any] | None] = []
    if gate.pregnancy_testing(program, category, ctx.now):  # R11 where the program tests (issue 17)
        due.append(_due("pregnancy test", "R11", schedule.test_due(
            records.tests, records.ppafs, records.dispenses, patient.cycles_regular, params,
            records.readmitted_at), ctx.now))
    for spec in gate.lab_monitoring_in_force(program, category, ctx.now):  # ALT, AST, ANC (issue 17)
        last = labs.next_lab_due(spec.options["lab_rule"], records.lab_results,
                                 labs.treatment_start_of(records.dispenses), ctx.now, tz)
        due.append(_due(f"{spec.options['analyte']} test", spec.rule, day_end(last, tz), ctx.now))
    if gate.declares(program, ctx.now, category, "survey", respondent="patient"):
        survey = schedule.survey_due(params.survey[category], category, records.patient_surveys,
                                     records.dispenses, tz, params.refill_window_days)
        due.append(_due("patient survey", "R20", ctx.now if survey == schedule.OVERDUE else survey, ctx.now))
    change = schedule.category_change(patient, program, ctx.now)
    if change is not None:
        due.append({"what": "new PPAF (category changes)", "rule": "R8", "due": change.isoformat(),
                    "overdue": False})
    opens = schedule.refill_opens(records.dispenses, params.refill_window_days, tz)
    if opens is not None:
        due.append({"what": "next dispense window opens", "rule": "R28", "due": opens.isoformat(),
                    "overdue": False})
    prescriptions = []
    every = uow.prescriptions.matching(patient_id=patient.id)
    for rx in every:
        expires = schedule.effective_expiry(rx, records.tests, params, tz)  # T3
        entry: dict[str, Any] = {"id": rx.id, "number": rx.number, "state": rx.state,
                                 "category": rx.category, "days_supply": rx.days_supply,
                                 "expires_at": expires.isoformat() if expires else None}
        stage = _STAGE_OF.get(rx.state)
        if stage is not None:
            live = uow.confirmations.live(rx.id)
            pharmacy = uow.get(Pharmacy, live.pharmacy_id) if live else None
            loaded = replace(load_records(uow, patient, rx, pharmacy, live), other_prescriptions=every)
            decision = program_status.gate(uow, ctx, stage, rx, gate.evaluate(stage, loaded, program, ctx.now),
                                           record=False)  # issue 17: shown, recorded when used
            # Counselling (R29) happens at the counter; the pharmacy's own gates are the pharmacy's.
            hidden = {R29_COUNSELLING_INCOMPLETE} | (
                {R25_PHARMACY_NOT_CERTIFIED, R26_CONFIRMATION_INVALID} if stage == "confirm" else set())
            entry["failures"] = [f.as_dict() for f in decision.failures if f.code not in hidden]
            entry["waivers"] = [w.as_dict() for w in decision.waivers]
            due.append(_due("authorization expires", "R23", expires, ctx.now))
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
            for p in uow.patients.of_prescriber(prescriber_id, limit, offset)]
