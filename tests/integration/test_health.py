"""GET /healthz: the deployment's healthcheck, answered without a token and kept out of the
OpenAPI document (it is not part of the REMS API)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from rems.asgi import create_app
from rems.bootstrap import App


def test_healthz_answers_ok_without_a_token_and_stays_out_of_the_openapi_document(app: App) -> None:
    client = TestClient(create_app(app))
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert "/healthz" not in client.get("/openapi.json").json()["paths"]
