"""NCPDP SCRIPT REMS transactions (XML): REMSInitiationRequest, REMSRequest, RxFill.

Pharmacy and prescriber systems send the first two; RxFill is the pharmacy's. Malformed XML gets an
NCPDP Error (400), never a 500; gate refusals of a fill are an Error naming every failing rule (409).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from rems.domain.errors import Conflict, DomainError, NotFound, Refused
from rems.http.auth import refuse
from rems.interop import ncpdp, ncpdp_xml
from rems.interop.ncpdp_xml import Message
from rems.interop.web import MAX_BODY, Call, Denied, caller

# Outside the OpenAPI document: XML messages, described by rems/interop/ncpdp_subset.xsd.
router = APIRouter(prefix="/ncpdp/script", tags=["ncpdp"], include_in_schema=False)
System = Annotated[Call | Denied, Depends(caller("pharmacy", "prescriber"))]
XML = "application/xml"


def _xml(content: bytes, status: int = 200) -> Response:
    return Response(content, status_code=status, media_type=XML)


@router.post("", summary="An NCPDP SCRIPT message: REMSInitiationRequest, REMSRequest or RxFill",
             responses={200: {"content": {XML: {}}, "description": "REMSInitiationResponse, REMSResponse "
                                                                   "or Status (RxFill recorded)"},
                        400: {"description": "Error: malformed or unsupported message"},
                        401: {"description": "Error: no or bad token"},
                        403: {"description": "Error: wrong role, or the message names another sender"},
                        404: {"description": "Error: unknown case"},
                        409: {"description": "Error: the fill was refused by a gate (every rule named)"}})
async def script(request: Request, call: System) -> Response:
    body, whole = await _read(request)  # even a refused or oversized message gets its RelatesToMessageID
    if isinstance(call, Denied):
        return _xml(ncpdp_xml.error(ncpdp_xml.correlation(body), request.app.state.clock(), call.detail),
                    call.status)
    if not whole:
        return _xml(ncpdp_xml.error(ncpdp_xml.correlation(body), call.ctx.now,
                                    "the message is larger than the limit"), 413)
    return await run_in_threadpool(_respond, call, body)


async def _read(request: Request) -> tuple[bytes, bool]:
    """At most MAX_BODY bytes of the body, and whether that is all of it."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return body[:MAX_BODY], False
    return body, True


def _respond(call: Call, body: bytes) -> Response:
    now = call.ctx.now
    try:
        message = ncpdp_xml.parse(body)
    except ncpdp_xml.Malformed as bad:
        return _xml(ncpdp_xml.error(ncpdp_xml.correlation(body), now, str(bad)), bad.status)
    try:
        return _transaction(call, message)
    except ncpdp.SenderMismatch as mismatch:
        refuse(call.request, call.principal.actor, call.principal.actor_id, 403, "AUTH_SENDER_MISMATCH",
               str(mismatch), "send messages only for your own pharmacy or NPI")
        return _xml(ncpdp_xml.error(message, now, str(mismatch)), 403)
    except NotFound as missing:
        call.hidden(str(missing))
        return _xml(ncpdp_xml.error(message, now, str(missing)), 404)
    except Refused as refused:
        return _xml(ncpdp_xml.error(message, now, f"refused: {ncpdp.note_of(refused.failures)}"), 409)
    except Conflict as conflict:
        return _xml(ncpdp_xml.error(message, now, f"{conflict}", code="601"), 409)
    except DomainError as error:
        return _xml(ncpdp_xml.error(message, now, str(error)), 422)


def _transaction(call: Call, m: Message) -> Response:
    now = call.ctx.now
    if m.kind == "RxFill":
        if call.principal.role != "pharmacy":
            refuse(call.request, call.principal.actor, call.principal.actor_id, 403, "AUTH_ROLE_FORBIDDEN",
                   "RxFill is for the pharmacy role", "use a pharmacy token")
            return _xml(ncpdp_xml.error(m, now, "RxFill is for the pharmacy role"), 403)
        with call.app.uow() as uow:
            note = ncpdp.fill(uow, call.ctx, call.caller, m)
        return _xml(ncpdp_xml.status(m, now, note))
    if m.kind == "REMSInitiationRequest":
        with call.app.uow() as uow:
            reply = ncpdp.initiation(uow, call.ctx, call.caller, m)
    else:
        reply = ncpdp.approve(call.app.uow, call.ctx, call.caller, m)
    if reply.refused:
        call.hidden(reply.refused)
    if m.kind == "REMSInitiationRequest":
        return _xml(ncpdp_xml.initiation_response(m, now, reply.reasons, reply.note))
    return _xml(ncpdp_xml.rems_response(m, now, reply.approval, reply.reasons, reply.note, reply.case_number))
