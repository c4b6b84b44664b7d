"""The prescriber's actions on one of their patients: tests, PPAF, holds, pregnancy (R8-R12, R30)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse

from rems.api.calls import Calls, writer
from rems.http.errors import problems
from rems.schemas.inputs import CyclesIn, PregnancyReportIn, PregnancyTestIn, RenewPpafIn
from rems.schemas.outputs import PatientOut, PregnancyTestOut
from rems.schemas.persons import TimeZoneIn, TimeZoneOut
from rems.services.commands import RecordPregnancyTest, RenewPpaf, parse
from rems.services.enrollment import patients

router = APIRouter(prefix="/v1/prescriber/patients/{patient_id}", tags=["prescriber"],
                   responses=problems(401, 403, 404, 409, 422))
Writer = Annotated[Calls, Depends(writer("prescriber"))]
PatientId = Annotated[str, Path(min_length=1, max_length=40, description="One of your patients' ids")]


@router.post("/pregnancy-tests", status_code=201, response_model=PregnancyTestOut,
             summary="Record a pregnancy test (R9-R11); a positive one stops therapy (R30)")
def record_test(patient_id: PatientId, body: PregnancyTestIn, calls: Writer) -> JSONResponse:
    cmd = parse(RecordPregnancyTest, patient_id=patient_id, **body.model_dump())
    return calls.create(PregnancyTestOut.of, patients.record_pregnancy_test, cmd, calls.actor_id)


@router.post("/ppaf", status_code=201, response_model=PatientOut,
             summary="Sign a new PPAF after a category change (R8)")
def renew_ppaf(patient_id: PatientId, body: RenewPpafIn, calls: Writer) -> JSONResponse:
    cmd = parse(RenewPpaf, patient_id=patient_id, **body.model_dump())
    return calls.create(PatientOut.of, patients.renew_ppaf, cmd, calls.actor_id)


@router.post("/missed-period", response_model=PatientOut,
             summary="Missed period or abnormal bleeding: on hold until a negative test (R12)")
def missed_period(patient_id: PatientId, calls: Writer) -> JSONResponse:
    return calls.change(PatientOut.of, patients.report_missed_period, patient_id, calls.actor_id)


@router.post("/pregnancy-report", status_code=201, response_model=PatientOut,
             summary="Report a pregnancy: therapy stops, authorizations are voided (R30)")
def pregnancy_report(patient_id: PatientId, calls: Writer,
                     body: PregnancyReportIn | None = None) -> JSONResponse:
    source = body.source if body else "patient"
    return calls.create(PatientOut.of, patients.report_pregnancy, patient_id, source, calls.actor_id)


@router.post("/cycles", response_model=PatientOut,
             summary="Record whether cycles are regular (R11: tests every 4 or every 2 weeks)")
def cycles(patient_id: PatientId, body: CyclesIn, calls: Writer) -> JSONResponse:
    return calls.change(PatientOut.of, patients.set_cycles, patient_id, body.regular, calls.actor_id)


@router.post("/time-zone", response_model=TimeZoneOut,
             summary="Change the patient's time zone (T1: the local calendar of every rule), audited")
def time_zone(patient_id: PatientId, body: TimeZoneIn, calls: Writer) -> JSONResponse:
    return calls.change(TimeZoneOut.of, patients.change_time_zone, patient_id, body.time_zone,
                        calls.actor_id)


def _state_route(trigger: str) -> Callable[[str, Calls], JSONResponse]:
    def route(patient_id: PatientId, calls: Writer) -> JSONResponse:
        return calls.change(PatientOut.of, patients.change_state, patient_id, trigger, calls.actor_id)
    route.__name__ = f"{trigger}_therapy"
    return route


for _trigger in patients.STATE_TRIGGERS:
    router.post(f"/{_trigger}", response_model=PatientOut, name=f"{_trigger}_therapy",
                summary=f"{_trigger.capitalize()} therapy (audited; discontinuing voids authorizations)",
                )(_state_route(_trigger))
