"""The patient (or a guardian for a child): their own survey, and nothing else (R20, R6).

Issue 16 item 3: the answers to the program's patient survey Questionnaire are graded by the same
service as FHIR `$submit` and the dashboard (rems/services/questionnaires.py); each bad or wrong
answer is a field of the 422 (`answers.<linkId>`), a wrong knowledge answer never with the right one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from rems.api.calls import Calls, writer
from rems.http.errors import problem, problems
from rems.schemas.common import FieldError
from rems.schemas.inputs import PatientSurveyIn
from rems.schemas.outputs import SurveyOut
from rems.services import questionnaires
from rems.services.commands import RecordPatientSurvey, parse

router = APIRouter(prefix="/v1/patient", tags=["patient"], responses=problems(401, 403, 404, 422))
Writer = Annotated[Calls, Depends(writer("patient"))]


@router.post("/survey", status_code=201, response_model=SurveyOut,
             summary="Complete the patient survey (R20) with its answers; a guardian answers for a child (R6)")
def survey(calls: Writer, body: PatientSurveyIn | None = None) -> JSONResponse:
    cmd = parse(RecordPatientSurvey, patient_id=calls.actor_id,
                respondent=body.respondent if body else "patient")
    try:
        return calls.create(SurveyOut.of, questionnaires.take_patient_survey, cmd, body.answers if body else None)
    except questionnaires.FormInvalid as bad:
        kind = "survey-failed" if isinstance(bad, questionnaires.SurveyFailed) else "invalid-input"
        return problem(calls.request, 422, kind, str(bad), field=bad.field,
                       errors=[FieldError(field=f, message=m) for f, m in bad.errors.items()])
