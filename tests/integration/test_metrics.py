"""GET /metrics and /readyz beside /healthz (issue 15 item 4), on both stores: latency by route
template, refusals by rule and code, the outbox and the audit chain as stored; readiness names
what is wrong; /metrics is closed without its token where one is set, and in production."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import func, insert, select

from rems.adapters import orm
from rems.adapters.database import migrate
from rems.asgi import create_app
from rems.bootstrap import App, bootstrap
from rems.services.enrollment import certification
from rems.settings import Settings
from tests.api.world import PROGRAM, World

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
P = "/v1/pharmacy"


def _samples(client: TestClient, **headers: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def _with(app: App, **settings: object) -> App:
    """The same database under other settings."""
    return dataclasses.replace(app, settings=app.settings.model_copy(update=settings))


def _outbox(app: App, *states: str) -> None:
    rows = [{"id": f"ntf_{i}", "recipient": "patient:pat_x", "kind": "test_due", "subject": f"s{i}",
             "due_on": NOW.date() + timedelta(days=i), "rule": "R9", "channel": "outbox", "state": state,
             "attempts": 0, "created_at": NOW, "next_attempt_at": NOW} for i, state in enumerate(states)]
    with app.engine.begin() as connection:
        connection.execute(insert(orm.notifications), rows)


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_app(app, lambda: NOW)) as test_client:
        yield test_client


def test_metrics_count_latency_by_route_template_refusals_by_rule_and_what_is_stored(
        app: App, client: TestClient) -> None:
    w = World(app, lambda: NOW).cast()
    w.call(certification.change_certification, "pharmacy", w.pharm, "suspend", PROGRAM)
    before = _samples(client)
    refused = ("rems_refusals_total", frozenset({("rule", "R25"), ("code", "R25_PHARMACY_SUSPENDED")}))
    check = client.get(f"{P}/authorizations/{w.number}/check", headers=w.auth(w.pharm)).json()
    assert not check["allowed"]
    assert client.get(f"{P}/authorizations/{w.number}/check").status_code == 401  # anonymous
    _outbox(app, "pending", "pending", "failed", "parked", "sent")
    after = _samples(client)
    assert after[refused] == before.get(refused, 0) + 1
    missing = ("rems_refusals_total", frozenset({("rule", "AUTH"), ("code", "AUTH_TOKEN_MISSING")}))
    assert after[missing] == before.get(missing, 0) + 1
    route = "/v1/pharmacy/authorizations/{number}/check"  # the template, never the number
    timed = ("rems_http_request_duration_seconds_count",
             frozenset({("method", "GET"), ("route", route), ("status", "200")}))
    assert after[timed] == before.get(timed, 0) + 1
    assert not any(w.number in dict(labels).get("route", "") for _, labels in after)
    assert after[("rems_outbox_depth", frozenset({("state", "pending")}))] == 2
    assert after[("rems_outbox_depth", frozenset({("state", "failed")}))] == 1
    assert after[("rems_reminders_parked", frozenset())] == 1
    assert after[("rems_notification_outcomes", frozenset({("outcome", "sent")}))] == 1
    with app.engine.connect() as connection:
        entries = connection.execute(select(func.count()).select_from(orm.audit_log)).scalar_one()
    assert after[("rems_audit_chain_length", frozenset())] == entries > 0
    assert after[("rems_store_up", frozenset())] == 1


def test_metrics_want_their_token_when_one_is_set(app: App) -> None:
    with TestClient(create_app(_with(app, metrics_token=SecretStr("scrape-secret")), lambda: NOW)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"}).status_code == 200


def test_metrics_are_closed_in_production_without_a_token(app: App) -> None:
    with TestClient(create_app(_with(app, env="production"), lambda: NOW)) as client:
        response = client.get("/metrics")
    assert response.status_code == 403 and "REMS_METRICS_TOKEN" in response.json()["detail"]


def test_readyz_is_ready_at_head_and_stays_out_of_the_openapi_document(client: TestClient) -> None:
    response = client.get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ready"})
    paths = client.get("/openapi.json").json()["paths"]
    assert "/readyz" not in paths and "/metrics" not in paths


def test_readyz_names_a_schema_behind_head(app: App, client: TestClient) -> None:
    migrate(app.engine, "-1", "downgrade")
    response = client.get("/readyz")
    assert response.status_code == 503 and response.headers["retry-after"]
    problem, = response.json()["problems"]
    assert problem.startswith("schema: at ") and "run `rems init`" in problem


def test_readyz_names_an_unreachable_database(tmp_path: object) -> None:
    gone = bootstrap(Settings(env="test", database_url="sqlite:////nonexistent-dir/rems.db"))
    with TestClient(create_app(gone)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["problems"] == ["database: unreachable (OperationalError)"]
    assert client.get("/healthz").status_code == 200  # liveness needs no database
