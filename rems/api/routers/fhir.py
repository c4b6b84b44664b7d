"""FHIR R4 `GuidanceResponse/$rems-etasu` (US Medication REMS IG): the ETASU status of a case or patient.

Prescribers (their own patients) and pharmacies (a case by its number, or a patient with an open
authorization). Bad input is an OperationOutcome (400/422), never a 500.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from rems.interop import fhir
from rems.interop.web import Call, Denied, body_of, caller

# Outside the OpenAPI document: the FHIR R4 and IG specifications describe this wire format.
router = APIRouter(prefix="/fhir/r4", tags=["fhir"], include_in_schema=False)
Caller = Annotated[Call | Denied, Depends(caller("prescriber", "pharmacy"))]
_LOGIN = {401: "login", 403: "forbidden"}


def _fhir(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=fhir.FHIR_JSON)


@router.post("/GuidanceResponse/$rems-etasu", summary="ETASU status (US Medication REMS IG $rems-etasu)",
             responses={200: {"content": {fhir.FHIR_JSON: {}}, "description": "Output Parameters"},
                        400: {"description": "OperationOutcome: unreadable Parameters"},
                        401: {"description": "OperationOutcome: no or bad token"},
                        403: {"description": "OperationOutcome: not a prescriber or pharmacy token"},
                        413: {"description": "OperationOutcome: body too large"},
                        422: {"description": "OperationOutcome: a required parameter is missing"}})
async def rems_etasu(request: Request, call: Caller) -> JSONResponse:
    """Input Parameters: `patient` (Patient with our REMS patient id, or an Identifier) and
    `medication` (Medication or MedicationRequest coded by RxNorm or NDC), or `caseNumber` /
    `case_number` alone. Output: a GuidanceResponse with status success, data-required or failure,
    one nested GuidanceResponse per requirement (rule id, code, remedy) and the case number."""
    if isinstance(call, Denied):
        return _fhir(fhir.outcome(_LOGIN.get(call.status, "security"), call.detail), call.status)
    body = await body_of(request)
    if body is None:
        return _fhir(fhir.outcome("too-costly", "the body is larger than the limit"), 413)
    return await run_in_threadpool(_respond, call, body)  # the database calls block


def _respond(call: Call, body: bytes) -> JSONResponse:
    try:
        query = fhir.parse_etasu(body)
    except fhir.BadParameters as bad:
        return _fhir(fhir.outcome(bad.code, f"{bad.where}: {bad.reason}", bad.where), bad.status)
    with call.app.uow() as uow:
        result = fhir.answer(uow, call.ctx, call.caller, query)
    if result.refused:
        call.hidden(result.reason)
    return _fhir(fhir.etasu_output(result, call.ctx.now, call.ctx.request_id))
