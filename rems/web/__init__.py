"""The web dashboard (issue 7): server-rendered pages for prescribers, pharmacists, patients and the
program administrator, on the same application, actors and services as the HTTP API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from rems.web import (
    admin,
    admin_onboarding,
    admin_patients,
    admin_programs,
    forms,
    login,
    oidc,
    operations,
    patient,
    pharmacy,
    prescriber,
    smart_launch,
)
from rems.web import languages as i18n_web
from rems.web.pages import HEADERS, LoginRequired, ShowError, cookies

STATIC = Path(__file__).parent / "static"


def _to_login(request: Request, error: Exception) -> Response:
    assert isinstance(error, LoginRequired)
    target = f"/web/login?ended={error.ended}" if error.ended else "/web/login"
    response = RedirectResponse(target, status_code=303, headers=HEADERS)
    cookies(request).clear(response, request)
    return response


def install(api: FastAPI) -> None:
    """Mount the dashboard's pages under /web (outside the OpenAPI document) and its stylesheet."""
    api.mount("/web/static", StaticFiles(directory=STATIC), name="web-static")
    # operations, onboarding and programs first: their fixed paths must win over admin's
    # /web/admin/{kind}/{id}/{trigger}.
    for module in (login, oidc, smart_launch, forms, prescriber, pharmacy, operations, admin_patients, admin_programs,
                   admin_onboarding, admin,
                   patient):
        api.include_router(module.router)
    api.include_router(i18n_web.router)  # issue 18 item 5: the language switch
    api.add_middleware(smart_launch.Launches)  # issue 16 item 4: an EHR launch of any dashboard page
    api.add_exception_handler(LoginRequired, _to_login)
    api.add_exception_handler(ShowError, login.show_error)

    @api.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse("/web/login", status_code=303)

    @api.get("/web", include_in_schema=False)
    def web_root() -> Response:
        return RedirectResponse("/web/login", status_code=303)
