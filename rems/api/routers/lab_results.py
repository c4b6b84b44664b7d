"""The prescriber records and lists lab results of one of their patients (issue 17 item 1: ALT,
AST, ANC, bilirubin; the lab-test requirement kind, docs/lab-tests.md)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse
from pydantic import Field

from rems.api.calls import Calls, reader, writer
from rems.api.schemas.common import In, Out, Plain
from rems.domain.model import LabResult
from rems.http.errors import problems
from rems.services.commands import Moment, parse
from rems.services.enrollment import labs

router = APIRouter(prefix="/v1/prescriber/patients/{patient_id}", tags=["prescriber"],
                   responses=problems(401, 403, 404, 409, 422))
Writer = Annotated[Calls, Depends(writer("prescriber"))]
Reader = Annotated[Calls, Depends(reader("prescriber"))]
PatientId = Annotated[str, Path(min_length=1, max_length=40, description="One of your patients' ids")]


class LabResultIn(In):
    # Numbers are strict=False as dates are (In): JSON gives a number or its text, never a Decimal;
    # true/false is still refused.
    analyte: labs.Analyte = Field(description="ALT, AST, ANC or bilirubin (hCG: record a pregnancy test)")
    value: labs.Value = Field(strict=False, description="The value as reported: finite, not negative, at most 6 "
                              "decimals and 15 digits (a JSON number or its text)")
    unit: Annotated[str, Plain] = Field(min_length=1, max_length=20, description="e.g. U/L, mg/dL, cells/uL")
    collected_at: Moment = Field(strict=False, description="When the sample was collected (ISO 8601 with a zone)")
    upper_limit_normal: labs.Limit | None = Field(
        default=None, strict=False, description="That laboratory's upper limit of normal, in `unit` (> 0); required for "
        "ALT, AST and bilirubin (judged as multiples of it)")
    lower_limit: labs.Value | None = Field(default=None, strict=False,
                                           description="That laboratory's lower limit of normal, in `unit`")
    setting: labs.Setting = Field(default="lab", description="lab, office or home")


class LabResultOut(Out):
    id: str = Field(description="Lab result id")
    patient_id: str = Field(description="Patient id")
    analyte: str = Field(description="ALT, AST, ANC or bilirubin")
    value: Decimal = Field(description="The value as recorded (exact decimal text)")
    unit: str = Field(description="Its unit")
    upper_limit_normal: Decimal | None = Field(description="The result's upper limit of normal")
    lower_limit: Decimal | None = Field(description="The result's lower limit of normal")
    collected_at: datetime = Field(description="When collected")
    recorded_at: datetime = Field(description="When recorded")
    setting: str = Field(description="lab, office or home")

    @classmethod
    def of(cls, r: LabResult) -> LabResultOut:
        return cls(id=r.id, patient_id=r.patient_id, analyte=r.analyte, value=r.value, unit=r.unit,
                   upper_limit_normal=r.upper_limit_normal, lower_limit=r.lower_limit,
                   collected_at=r.collected_at, recorded_at=r.recorded_at, setting=r.setting)


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
