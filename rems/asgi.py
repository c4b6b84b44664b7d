"""The ASGI application's composition root (issue 19 item 4): the API, the dashboard and the interop
routes on one FastAPI app, with the shared plumbing (rems/http/), wired to a bootstrapped App;
nothing connects at import. No entry point: the server (`rems serve`) and the tests build it here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi

from rems import logs, web
from rems.api import admission, docs, metrics
from rems.api.input_guard import BodyLimit, plain_address
from rems.api.routers import (
    admin,
    admin_patients,
    notifications,
    patient,
    patient_care,
    pharmacy,
    prescriber,
    programs,
    reports,
)
from rems.api.routers.lab_results import router as lab_results_router
from rems.bootstrap import App, bootstrap
from rems.http import errors
from rems.http.request_id import RequestId
from rems.interop import fhir_outcome
from rems.interop.cors import Cors
from rems.interop.routes import cds_hooks, fhir, ncpdp

DESCRIPTION = """The REMS engine over HTTP. Every call needs `Authorization: Bearer <token>`, a token
from `rems token create --role prescriber|pharmacy|patient|admin --actor ID`, and reaches only its
role's routes (403 otherwise) and its actor's records (404 otherwise). Every POST accepts an
`Idempotency-Key`. Errors are RFC 9457 problem details; a refusal (409) lists every failing rule."""
INTEROP_PATHS = ("/fhir/", "/cds-services", "/ncpdp/")  # each limits its own body (rems/interop/web.py)


def _problem_media_types(api: FastAPI) -> Callable[[], dict[str, Any]]:
    """Error responses are application/problem+json (RFC 9457), not application/json."""
    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            schema = get_openapi(title=api.title, version=api.version, description=api.description,
                                 routes=api.routes, tags=api.openapi_tags)
            for operations in schema["paths"].values():
                for operation in operations.values():
                    for code, response in operation.get("responses", {}).items():
                        content = response.get("content", {})
                        if int(code) >= 400 and "application/json" in content:
                            content[errors.PROBLEM_JSON] = content.pop("application/json")
            api.openapi_schema = schema
        return api.openapi_schema
    return openapi


def create_app(app: App, clock: Callable[[], datetime] | None = None) -> FastAPI:
    api = FastAPI(title="REMS engine", version="1", description=DESCRIPTION, docs_url=None, redoc_url=None,
                  openapi_tags=[
        {"name": "pharmacy", "description": "ETASU check, confirmation, dispense (R25-R29, R33)"},
        {"name": "prescriber", "description": "Own patients, tests, PPAF, prescriptions (R1-R24, R30)"},
        {"name": "patient", "description": "The patient's own survey (R20)"},
        {"name": "admin", "description": "Certification and the audit trail (R1-R3, R25)"}])
    api.state.rems = app
    api.state.clock = clock or (lambda: datetime.now(UTC))
    errors.install(api, (fhir_outcome.is_fhir, fhir_outcome.response))  # issue 16: FHIR paths in FHIR
    for module in (pharmacy, prescriber, patient_care, patient, admin_patients, admin, notifications, reports,
                   programs):
        api.include_router(module.router, dependencies=[Depends(plain_address)])
    api.include_router(lab_results_router, dependencies=[Depends(plain_address)])  # issue 17 item 1
    for module in (fhir, cds_hooks, ncpdp):  # their paths reach no database; bodies: rems/interop
        api.include_router(module.router)
    web.install(api)
    docs.install(api)  # issue 18 item 6: /docs and /redoc without a CDN

    @api.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        """Liveness for the deployment's healthcheck: no token, no database, outside the API."""
        return {"status": "ok"}

    metrics.install(api)  # issue 15: /metrics, /readyz, latency and the access line (inside RequestId)
    api.openapi = _problem_media_types(api)  # type: ignore[method-assign]
    api.add_middleware(Cors, origins=app.settings.cors_origins,  # issue 16: CDS and FHIR routes only
                       max_age_seconds=app.settings.cors_max_age_seconds)
    api.add_middleware(BodyLimit, limit=app.settings.max_body_bytes, exempt=INTEROP_PATHS)  # issue 15 item 6
    # Issue 14 item 4: excess requests refused at once, outside every other layer (admission.install).
    admission.install(api, app.settings.max_concurrent_requests, app.settings.retry_after_seconds)
    api.add_middleware(RequestId)
    return api


def from_environment() -> FastAPI:
    """For `uvicorn --factory rems.asgi:from_environment`: settings from REMS_* variables."""
    logs.configure("api")  # issue 15 item 3: JSON lines on stderr, in every server process
    return create_app(bootstrap())
