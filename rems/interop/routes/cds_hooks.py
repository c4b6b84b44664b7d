"""CDS Hooks 2.0: discovery and the prescriber's REMS services (order-sign, order-select, patient-view).

An EHR calls with its signed JWT (rems/interop/cds_admit.py: allow-listed issuer, its user mapped to
one of our prescribers); our own clients may still send a prescriber bearer token. A patient is found
by our REMS patient id in prefetch.patient.identifier and must be the prescriber's own. Malformed
hook input is answered with a "Bad Request" warning card. A prefetch the EHR did not send is read
from its FHIR server when that server is allow-listed for the EHR (rems/interop/ehr_fhir.py).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from starlette.concurrency import run_in_threadpool

from rems.http.auth import bearer
from rems.interop import cds, cds_admit, cds_service
from rems.interop.web import Denied, body_of

# Outside the OpenAPI document: CDS Hooks discovery (GET /cds-services) describes these services.
router = APIRouter(prefix="/cds-services", tags=["cds-hooks"], include_in_schema=False)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
ServiceId = Annotated[str, Path(min_length=1, max_length=64, description="A service id from discovery")]


def _denied(denied: Denied, credentials: HTTPAuthorizationCredentials | None) -> JSONResponse:
    # RFC 6750: error="invalid_token" only when a token was sent
    challenge = 'Bearer realm="rems"' + (', error="invalid_token"' if credentials else "")
    headers = {"WWW-Authenticate": challenge} if denied.status == 401 else None
    return JSONResponse({"detail": denied.detail}, status_code=denied.status, headers=headers)


@router.get("", summary="CDS Hooks discovery: the REMS services and their prefetch templates")
async def discovery(request: Request, credentials: Credentials) -> JSONResponse:
    call = await run_in_threadpool(cds_admit.admit, request, credentials, None, False)
    if isinstance(call, Denied):
        return _denied(call, credentials)
    return JSONResponse({"services": [{"id": key, **service} for key, service in cds.SERVICES.items()]})


@router.post("/{service_id}", summary="Call a REMS CDS service: cards for every unmet requirement",
             responses={200: {"description": "{cards: [...]}; a Bad Request card for malformed input"},
                        401: {"description": "no or bad token"}, 403: {"description": "not a prescriber"},
                        404: {"description": "no such service"}, 413: {"description": "body too large"},
                        412: {"description": "a missing prefetch could not be read from the EHR: a card says why"}})
async def service(service_id: ServiceId, request: Request, credentials: Credentials) -> JSONResponse:
    body = await body_of(request)  # first: the EHR's user is named in its context.userId
    if body is None:
        return JSONResponse({"detail": "the body is larger than the limit"}, status_code=413)
    return await run_in_threadpool(_respond, request, credentials, service_id, body)


def _respond(request: Request, credentials: HTTPAuthorizationCredentials | None, service_id: str,
             body: bytes) -> JSONResponse:
    call = cds_admit.admit(request, credentials, body)
    if isinstance(call, Denied):
        return _denied(call, credentials)
    if service_id not in cds.SERVICES:
        return JSONResponse({"detail": f"no CDS service {service_id!r}"}, status_code=404)
    hook_name = cds.SERVICES[service_id]["hook"]
    settings = call.app.settings
    fetch = cds_service.from_ehr(settings, call.issuer, tuple(call.app.programs.values()), call.ctx.now)
    try:
        hook = cds.parse_hook(hook_name, body, fetch)  # before the unit of work: no transaction waits on the EHR
        with call.app.uow() as uow:
            answer = cds_service.cards(uow, call.ctx, call.caller, hook, settings.public_base_url)
    except cds.UnacceptableValue as bad:
        return JSONResponse({"detail": str(bad), "field": bad.field}, status_code=422)
    except cds.FhirServerRefused as refused:  # request forgery guard (G-3): audited, nothing fetched
        call.refused("AUTH_FHIR_SERVER_NOT_ALLOWED", str(refused),
                     "send the prefetch, or ask the REMS administrator to allow-list this FHIR server")
        return JSONResponse({"cards": [cds.bad_request(str(refused))]})
    except cds.EhrUnreadable as down:  # CDS Hooks 2.0: 412 when the data cannot be obtained
        return JSONResponse({"cards": [cds.ehr_unreadable(str(down))]}, status_code=412)
    except cds.BadHook as bad:
        return JSONResponse({"cards": [cds.bad_request(str(bad))]})
    if answer.refused:
        call.hidden(answer.refused)
    cards: list[dict[str, Any]] = answer.cards
    return JSONResponse({"cards": cards})
