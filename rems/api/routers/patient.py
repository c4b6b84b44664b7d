"""The patient (or a guardian for a child): their own survey, and nothing else (R20, R6)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from rems.api.calls import Calls, writer
from rems.api.errors import problems
from rems.api.schemas.inputs import PatientSurveyIn
from rems.api.schemas.outputs import SurveyOut
from rems.services import patients
from rems.services.commands import RecordPatientSurvey, parse

router = APIRouter(prefix="/v1/patient", tags=["patient"], responses=problems(401, 403, 404, 422))
Writer = Annotated[Calls, Depends(writer("patient"))]


@router.post("/survey", status_code=201, response_model=SurveyOut,
             summary="Complete the patient survey (R20); a guardian answers for a child (R6)")
def survey(calls: Writer, body: PatientSurveyIn | None = None) -> JSONResponse:
    cmd = parse(RecordPatientSurvey, patient_id=calls.actor_id,
                respondent=body.respondent if body else "patient")
    return calls.create(SurveyOut.of, patients.record_patient_survey, cmd)
