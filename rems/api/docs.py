"""The API's documentation pages (issue 18 item 6): Swagger UI and ReDoc from assets shipped in a
package (fastapi-offline, MIT; Swagger UI and ReDoc are Apache-2.0 and MIT), never from a CDN, so
/docs works on a site without Internet access and no visitor's browser calls a third party."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

ASSETS = Path(fastapi_offline.__file__).parent / "static"
PREFIX = "/docs-assets"


def install(api: FastAPI) -> None:
    """/docs and /redoc, their scripts, styles and icon served by this application."""
    api.mount(PREFIX, StaticFiles(directory=ASSETS), name="docs-assets")
    openapi_url = api.openapi_url or "/openapi.json"

    @api.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url, title=f"{api.title} - Swagger UI",
            swagger_js_url=f"{PREFIX}/swagger-ui-bundle.js", swagger_css_url=f"{PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{PREFIX}/favicon.png",
            # Swagger UI would send the document to a public validator for its badge: never.
            swagger_ui_parameters={"validatorUrl": None})

    @api.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url=openapi_url, title=f"{api.title} - ReDoc",
                              redoc_js_url=f"{PREFIX}/redoc.standalone.js",
                              redoc_favicon_url=f"{PREFIX}/favicon.png", with_google_fonts=False)
