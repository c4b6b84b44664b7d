"""CORS for the CDS Hooks and FHIR routes: a configured origin's preflight is answered (204) with
the methods and headers a browser-based CDS client needs; any other origin gets no CORS header."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from rems.asgi import create_app
from rems.bootstrap import App
from rems.settings import Settings
from tests.api.conftest import Clock
from tests.interop.conftest import Population
from tests.interop.fhir_helpers import URL

ORIGIN = "https://ehr-app.example.org"
ROUTES = ["/cds-services", "/cds-services/rems-order-sign", URL, "/fhir/r4/metadata"]


@pytest.fixture
def cors_client(app: App, clock: Clock) -> Iterator[TestClient]:
    settings = app.settings.model_copy(update={"cors_origins": [ORIGIN]})
    with TestClient(create_app(dataclasses.replace(app, settings=settings), clock)) as test_client:
        yield test_client


def preflight(client: TestClient, path: str, origin: str) -> httpx.Response:
    return client.options(path, headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                         "Access-Control-Request-Headers": "authorization, content-type"})


def cors_headers(response: httpx.Response) -> set[str]:
    return {k for k in response.headers if k.lower().startswith("access-control-")}


@pytest.mark.parametrize("path", ROUTES)
def test_a_configured_origins_preflight_is_answered(cors_client: TestClient, path: str) -> None:
    response = preflight(cors_client, path, ORIGIN)
    assert response.status_code == 204
    headers = response.headers
    assert headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in headers["access-control-allow-methods"]
    assert {"authorization", "content-type"} <= {h.strip().lower() for h in
                                                 headers["access-control-allow-headers"].split(",")}
    assert "access-control-allow-credentials" not in headers  # bearer tokens, never cookies


def test_the_actual_call_carries_the_origin_and_exposes_the_request_id(cors_client: TestClient,
                                                                       p: Population) -> None:
    response = cors_client.post("/cds-services/rems-order-sign", json={},
                                headers={**p.auth(p.w.doc), "Origin": ORIGIN})
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "X-Request-ID" in response.headers["access-control-expose-headers"]
    assert "Origin" in response.headers["vary"]


@pytest.mark.parametrize("path", ROUTES)
def test_an_unknown_origin_gets_no_cors_header(cors_client: TestClient, p: Population, path: str) -> None:
    response = preflight(cors_client, path, "https://evil.example")
    assert response.status_code == 405 and cors_headers(response) == set()
    call = cors_client.get("/fhir/r4/metadata", headers={"Origin": "https://evil.example"})
    assert call.status_code == 200 and cors_headers(call) == set()


def test_other_routes_get_no_cors_even_from_a_configured_origin(cors_client: TestClient,
                                                                p: Population) -> None:
    response = preflight(cors_client, "/v1/pharmacy/check", ORIGIN)
    assert cors_headers(response) == set()
    assert cors_headers(cors_client.get("/healthz", headers={"Origin": ORIGIN})) == set()


def test_no_origin_is_allowed_by_default(client: TestClient) -> None:
    assert cors_headers(preflight(client, URL, ORIGIN)) == set()


@pytest.mark.parametrize("origins", [["*"], ["https://ehr.example/"], ["ehr.example"]])
def test_a_wildcard_or_non_origin_is_refused_at_start(origins: list[str]) -> None:
    with pytest.raises(ValidationError, match="REMS_CORS_ORIGINS"):
        Settings(env="test", cors_origins=origins)
