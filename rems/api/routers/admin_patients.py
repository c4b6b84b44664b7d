"""The administrator and the person (R34, R35): transfer a patient, readmit after a pregnancy stop,
correct a reproductive fact. Each is audited with ids only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse

from rems.api.calls import Calls, writer
from rems.http.errors import problems
from rems.schemas.outputs import PatientOut
from rems.schemas.persons import CorrectFactsIn, ReadmissionIn, ReadmissionOut, TransferIn, TransferOut
from rems.services.commands import CorrectFacts, DecideReadmission, TransferPatient, parse
from rems.services.enrollment import persons

router = APIRouter(prefix="/v1/admin/patients/{patient_id}", tags=["admin"],
                   responses=problems(401, 403, 404, 409, 422))
Writer = Annotated[Calls, Depends(writer("admin"))]
PatientId = Annotated[str, Path(min_length=1, max_length=40, description="Patient (enrollment) id")]


@router.post("/transfer", response_model=TransferOut,
             summary="Transfer a patient to another certified prescriber, keeping the record (R34)")
def transfer(patient_id: PatientId, body: TransferIn, calls: Writer) -> JSONResponse:
    """The previous prescriber's open authorizations are voided (the answer says how many)."""
    cmd = parse(TransferPatient, patient_id=patient_id, **body.model_dump())
    return calls.change(TransferOut.of, persons.transfer_patient, cmd)


@router.post("/readmission", status_code=201, response_model=ReadmissionOut,
             summary="Record the decision to enrol this person again after a pregnancy stop (R34)")
def readmission(patient_id: PatientId, body: ReadmissionIn, calls: Writer) -> JSONResponse:
    cmd = parse(DecideReadmission, patient_id=patient_id, **body.model_dump())
    return calls.create(ReadmissionOut.of, persons.decide_readmission, cmd)


@router.post("/facts", response_model=PatientOut,
             summary="Correct a recorded reproductive fact, with a reason (R35); R8 may then need a PPAF")
def correct_facts(patient_id: PatientId, body: CorrectFactsIn, calls: Writer) -> JSONResponse:
    cmd = parse(CorrectFacts, patient_id=patient_id, **body.model_dump())
    return calls.change(PatientOut.of, persons.correct_facts, cmd)
