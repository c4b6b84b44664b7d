"""The prescriber records and lists lab results of one of their patients (issue 17 item 1: ALT,
AST, ANC, bilirubin; the lab-test requirement kind, docs/lab-tests.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse

from rems.api.calls import Calls, reader, writer
from rems.http.errors import problems
from rems.schemas.labs import LabResultIn, LabResultOut
from rems.services.commands import parse
from rems.services.enrollment import labs

router = APIRouter(prefix="/v1/prescriber/patients/{patient_id}", tags=["prescriber"],
                   responses=problems(401, 403, 404, 409, 422))
Writer = Annotated[Calls, Depends(writer("prescriber"))]
Reader = Annotated[Calls, Depends(reader("prescriber"))]
PatientId = Annotated[str, Path(min_length=1, max_length=40, description="One of your patients' ids")]


@router.post("/lab-results", status_code=201, response_model=LabResultOut,
             summary="Record a lab result (ALT, AST, ANC, bilirubin) of one of your patients")
def record_lab_result(patient_id: PatientId, body: LabResultIn, calls: Writer) -> JSONResponse:
    cmd = parse(labs.RecordLabResult, patient_id=patient_id, **body.model_dump())
    return calls.create(LabResultOut.of, labs.record_lab_result, cmd, calls.actor_id)


@router.get("/lab-results", response_model=list[LabResultOut],
            summary="One of your patients' lab results, in collection order")
def list_lab_results(patient_id: PatientId, calls: Reader) -> list[LabResultOut]:
    return calls.read(lambda rows: [LabResultOut.of(r) for r in rows], labs.lab_results, patient_id,
                      calls.actor_id)
