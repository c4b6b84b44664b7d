"""The one place errors become HTTP responses: RFC 9457 problem details, never a stack trace."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from rems.domain.errors import Conflict, DomainError, InvalidInput, NotFound, Refused
from rems.logs import scrub
from rems.schemas.common import FieldError, Problem, RequirementOut

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("rems.api")
# A family of paths answering errors in its own wire format, not problem+json: (is it one of its
# paths, the response for status, detail, field, headers). The composition root (rems/asgi.py)
# hands them to `install`: issue 16's FHIR paths answer an OperationOutcome (rems.interop.fhir_outcome).
Dialect = tuple[Callable[[str], bool],
                Callable[[int, str, str | None, Mapping[str, str] | None], JSONResponse]]

_WHAT = {
    400: "Bad request", 401: "Authentication required", 403: "Forbidden for this role",
    404: "Not found", 405: "Method not allowed", 409: "Refused or in conflict", 413: "Body too large",
    422: "Invalid input (the field is named)", 429: "Too many refused requests; retry after the wait",
    503: "Database busy or unavailable; retry",
}


class ApiError(Exception):
    """An error decided by the API layer itself (authentication, role, idempotency)."""

    def __init__(self, status: int, kind: str, detail: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.kind, self.detail, self.field = status, kind, detail, field
        self.headers = headers


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Declare error responses of a route; `openapi` moves them to application/problem+json. A route
    that can refuse a caller (401) can also rate-limit one refused too often (429, issue 15 item 8)."""
    declared = (*statuses, 429) if 401 in statuses and 429 not in statuses else statuses
    return {s: {"model": Problem, "description": _WHAT[s]} for s in declared}


def problem(request: Request, status: int, kind: str, detail: str,
            headers: Mapping[str, str] | None = None, **extra: Any) -> JSONResponse:
    dialects: tuple[Dialect, ...] = getattr(request.app.state, "error_dialects", ())
    for speaks, answer in dialects:  # issue 16: FHIR paths answer in FHIR (rems/asgi.py wires it)
        if speaks(request.url.path):
            return answer(status, detail, extra.get("field"), headers)
    body = Problem(type=f"urn:rems:problem:{kind}", title=_WHAT.get(status, "Error"), status=status,
                   detail=detail, instance=request.url.path,
                   request_id=getattr(request.state, "request_id", None), **extra)
    return JSONResponse(body.model_dump(mode="json", exclude_none=True), status_code=status,
                        headers=headers, media_type=PROBLEM_JSON)


def _domain(request: Request, error: Exception) -> JSONResponse:
    if isinstance(error, InvalidInput):
        return problem(request, 422, "invalid-input", str(error), field=error.field,
                       errors=[FieldError(field=error.field, message=error.reason)])
    if isinstance(error, NotFound):
        return problem(request, 404, "not-found", str(error))
    if isinstance(error, Refused):
        return problem(request, 409, "refused", str(error),
                       failures=[RequirementOut(**f.as_dict()) for f in error.failures])
    if isinstance(error, Conflict):
        return problem(request, 409, "conflict", str(error))
    return _unexpected(request, error)


def _field_error(e: dict[str, Any]) -> FieldError:
    """FastAPI's location ("body", "ppaf", "category") as the field a client sent: ppaf.category."""
    where, *path = e["loc"]
    if e.get("type") == "json_invalid":
        return FieldError(field=str(where), message=f"invalid JSON at character {path[0] if path else 0}")
    return FieldError(field=".".join(str(p) for p in path) or str(where), message=str(e["msg"]))


def _validation(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    found = [_field_error(e) for e in error.errors()]
    first = found[0] if found else FieldError(field="body", message="invalid")
    return problem(request, 422, "invalid-input", f"{first.field}: {first.message}",
                   field=first.field, errors=found)


def _api(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    return problem(request, error.status, error.kind, error.detail, error.headers, field=error.field)


def _http(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    if error.status_code == 400:  # an undecodable body is invalid input like any other
        return problem(request, 422, "invalid-input", f"body: {error.detail}", field="body",
                       errors=[FieldError(field="body", message=str(error.detail))])
    if error.status_code == 413:
        return problem(request, 413, "too-large", str(error.detail), field="body")
    return problem(request, error.status_code, "http", str(error.detail), error.headers)


def _database(request: Request, error: Exception) -> JSONResponse:
    # Issue 15 item 3: the type and the scrubbed text only, whatever formatter prints it.
    log.warning("database unavailable: %s", scrub(str(error)), extra={"error": type(error).__name__})
    return problem(request, 503, "unavailable", "the database is busy, unavailable or not initialised "
                   "(`rems init`); retry", {"Retry-After": "1"})


def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.error("internal error: %s", scrub("".join(traceback.format_exception(error))),
              extra={"error": type(error).__name__})
    return problem(request, 500, "internal", "internal error; nothing was saved")


def install(api: FastAPI, *dialects: Dialect) -> None:
    api.state.error_dialects = dialects
    api.add_exception_handler(DomainError, _domain)
    api.add_exception_handler(RequestValidationError, _validation)
    api.add_exception_handler(ApiError, _api)
    api.add_exception_handler(HTTPException, _http)
    api.add_exception_handler(OperationalError, _database)
    api.add_exception_handler(Exception, _unexpected)
