"""FHIR R4 (US Medication REMS IG STU2): discovery, and `GuidanceResponse/$rems-etasu`.

`metadata` (the CapabilityStatement) and our OperationDefinitions are public, as FHIR discovery
is. `$rems-etasu` is for prescribers (their own patients) and pharmacies (a case by its number, or
a patient with an open authorization). `$questionnaire-package` and `QuestionnaireResponse/$submit`
serve the program's forms (issue 16 item 3, rems/interop/fhir_questionnaires.py). Every error on a /fhir/ path is an OperationOutcome
(rems/interop/fhir_outcome.py), never a 500 with a stack trace.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from rems.http.auth import application, clock
from rems.interop import fhir, fhir_capability, fhir_outcome, fhir_questionnaires
from rems.interop.web import Call, Denied, body_of, caller

# Outside the OpenAPI document: the FHIR R4 and IG specifications describe this wire format.
router = APIRouter(prefix="/fhir/r4", tags=["fhir"], include_in_schema=False)
Caller = Annotated[Call | Denied, Depends(caller("prescriber", "pharmacy"))]
_LOGIN = {401: "login", 403: "forbidden"}


def _fhir(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=fhir.FHIR_JSON)


def _software() -> str:
    try:
        return version("rems-engine")
    except PackageNotFoundError:  # running from a tree that was never installed
        return "unknown"


@router.get("/metadata", summary="The CapabilityStatement: what this FHIR endpoint supports")
def metadata(request: Request) -> JSONResponse:
    return _fhir(fhir_capability.capability_statement(
        application(request).settings.public_base_url, _software(), clock(request)))


@router.get("/OperationDefinition/{code}", summary="One of our OperationDefinitions")
def operation_definition(code: Annotated[str, Path(pattern=r"^[A-Za-z0-9\-.]{1,64}$")],
                         request: Request) -> JSONResponse:
    found = fhir_capability.operation_definition(code, application(request).settings.public_base_url)
    if found is None:
        return fhir_outcome.response(404, f"no OperationDefinition {code!r}; see /fhir/r4/metadata")
    return _fhir(found)


Former = Annotated[Call | Denied, Depends(caller("prescriber", "pharmacy", "patient"))]


def _denied(call: Denied) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="rems"'} if call.status == 401 else None
    return JSONResponse(fhir.outcome(_LOGIN.get(call.status, "security"), call.detail), call.status,
                        headers, media_type=fhir.FHIR_JSON)


@router.api_route("/Questionnaire/{questionnaire_id}/$questionnaire-package", methods=["GET", "POST"],
                  summary="A REMS form as a Bundle: the Questionnaire and its ValueSets (issue 16 item 3)")
def questionnaire_package(questionnaire_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9\-.]{1,64}$")],
                          call: Former) -> JSONResponse:
    if isinstance(call, Denied):
        return _denied(call)
    return fhir_questionnaires.package_for(call, questionnaire_id)


@router.post("/QuestionnaireResponse/$submit",
             summary="Submit a completed REMS form: the same commands as the dashboard's (issue 16 item 3)")
async def submit(request: Request, call: Former) -> JSONResponse:
    if isinstance(call, Denied):
        return _denied(call)
    body = await body_of(request)
    if body is None:
        return _fhir(fhir.outcome("too-costly", "the body is larger than the limit"), 413)
    return await run_in_threadpool(fhir_questionnaires.submit, call, body)  # the database calls block


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
        return _denied(call)
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
