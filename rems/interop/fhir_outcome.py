"""FHIR errors: every error on a /fhir/ path is an OperationOutcome (issue 16 item 2), never problem+json.

`rems.http.errors.problem` hands /fhir/ paths here, so the 401, 403, 404, 405, 413, 422 and 500 of
FastAPI, Starlette and our own handlers all speak FHIR there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi.responses import JSONResponse
from fhir.resources.R4B.operationoutcome import OperationOutcome

FHIR_JSON = "application/fhir+json"
PREFIX = "/fhir/"
# HTTP status -> the IssueType code (http://hl7.org/fhir/issue-type) that says the same thing.
ISSUE = {400: "structure", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported",
         406: "not-supported", 409: "conflict", 413: "too-costly", 415: "not-supported", 422: "invalid",
         429: "throttled", 500: "exception", 501: "not-supported", 503: "transient"}


def is_fhir(path: str) -> bool:
    return path.startswith(PREFIX) or path == PREFIX.rstrip("/")


def outcome(code: str, diagnostics: str, where: str | None = None) -> dict[str, Any]:
    """One error issue, validated by the R4B model before it is sent."""
    issue: dict[str, Any] = {"severity": "error", "code": code, "diagnostics": diagnostics}
    if where:
        issue["expression"] = [where]
    resource = {"resourceType": "OperationOutcome", "issue": [issue]}
    OperationOutcome.model_validate(resource)
    return resource


def response(status: int, diagnostics: str, where: str | None = None,
             headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(outcome(ISSUE.get(status, "processing"), diagnostics, where), status_code=status,
                        headers=headers, media_type=FHIR_JSON)
