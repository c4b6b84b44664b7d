"""The pharmacy: its own certification, the ETASU check, confirmation, dispense, void (R25-R29, R33)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query
from fastapi.responses import JSONResponse, Response

from rems.api.calls import Calls, reader, writer
from rems.http.errors import problems
from rems.schemas.common import DecisionOut, decision_json
from rems.schemas.inputs import ConfirmationIn, DispenseIn
from rems.schemas.outputs import ConfirmationOut, DispenseOut, PharmacyOut
from rems.services.commands import PharmacyRequest, RecordDispense, parse
from rems.services.dispensing import prescriptions
from rems.services.dispensing.confirmations import void_confirmation
from rems.services.views import queries

router = APIRouter(prefix="/v1/pharmacy", tags=["pharmacy"], responses=problems(401, 403, 404, 422))
Reader = Annotated[Calls, Depends(reader("pharmacy"))]
Writer = Annotated[Calls, Depends(writer("pharmacy"))]
Number = Annotated[str, Path(min_length=1, max_length=40, description="R22: the authorization number")]
Confirmation = Annotated[str, Path(min_length=1, max_length=40, description="R26: a confirmation number")]
PatientId = Annotated[str | None, Query(min_length=1, max_length=40, description=(
    "The patient, if the pharmacy has the id: a number issued for someone else is then not found"))]


@router.get("/me", response_model=PharmacyOut, summary="This pharmacy and its certification (R25)")
def me(calls: Reader) -> PharmacyOut:
    return calls.read(PharmacyOut.found, queries.pharmacy, calls.actor_id)


@router.get("/authorizations/{number}/check", response_model=DecisionOut,
            summary="The ETASU check: every requirement for a confirmation, met or not")
async def check(number: Number, calls: Reader, patient_id: PatientId = None) -> Response:
    """The decision obtaining a confirmation would get now, with every failing rule (read-only)."""
    cmd = parse(PharmacyRequest, number=number, pharmacy_id=calls.actor_id, patient_id=patient_id)
    # Issue 14 item 2: one hand-off to a worker thread; decision_json is DecisionOut's shape (18.7)
    return await calls.read_json(decision_json, prescriptions.check, cmd)


@router.post("/authorizations/{number}/confirmations", status_code=201, response_model=ConfirmationOut,
             responses=problems(409), summary="Obtain a confirmation number (R26), valid 24 h (R27)")
def confirm(number: Number, calls: Writer,
            body: Annotated[ConfirmationIn | None, Body()] = None) -> JSONResponse:
    """Only while every gate holds; 409 names every failing rule, or the pharmacy that won a race."""
    cmd = parse(PharmacyRequest, number=number, pharmacy_id=calls.actor_id,
                patient_id=body.patient_id if body else None)
    return calls.create(ConfirmationOut.of, prescriptions.obtain_confirmation, cmd)


@router.post("/dispenses", status_code=201, response_model=DispenseOut, responses=problems(409),
             summary="Record the dispense with counselling (R27, R29, R33)")
def dispense(body: DispenseIn, calls: Writer) -> JSONResponse:
    """Every gate is checked again; one authorization gives one dispense (R33)."""
    cmd = parse(RecordDispense, pharmacy_id=calls.actor_id, **body.model_dump())
    return calls.create(DispenseOut.of, prescriptions.record_dispense, cmd)


@router.post("/confirmations/{number}/void", response_model=ConfirmationOut, responses=problems(409),
             summary="Void this pharmacy's confirmation; the authorization is usable again")
def void(number: Confirmation, calls: Writer) -> JSONResponse:
    return calls.change(ConfirmationOut.of, void_confirmation, number, calls.actor_id)
