"""The outbox through the API (admin only, problem details naming the field) and the CLI (exit codes)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from rems.asgi import create_app
from rems.bootstrap import App
from rems.cli.main import run
from rems.cli.output import state
from rems.services.access import tokens
from rems.services.context import Context
from tests.conftest import T0
from tests.service.builders import Scenario
from tests.workers.helpers import park_one


def parked_reminder(app: App) -> str:
    return park_one(app)


def token(app: App, role: str, actor_id: str = "ops") -> dict[str, str]:
    with app.uow() as uow:
        issued = tokens.issue_token(uow, Context("admin", T0), tokens.IssueToken(role=role, actor_id=actor_id))
    return {"Authorization": f"Bearer {issued.secret}"}


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_app(app, lambda: T0 + timedelta(hours=1))) as test_client:
        yield test_client


def test_the_admin_lists_parked_notifications_and_retries_one(app: App, client: TestClient) -> None:
    nid, admin = parked_reminder(app), token(app, "admin")
    parked = client.get("/v1/admin/notifications/parked", headers=admin)
    assert parked.status_code == 200
    [row] = parked.json()
    assert (row["id"], row["state"], row["attempts"], row["rule"]) == (nid, "parked", 1, "R27")
    assert row["last_error"] == "channel unavailable (fake)"
    assert client.get("/v1/admin/notifications", params={"state": "sent"}, headers=admin).json() == []
    retried = client.post(f"/v1/admin/notification-retries/{nid}", headers=admin)
    assert retried.status_code == 200 and retried.json()["state"] == "pending"
    again = client.post(f"/v1/admin/notification-retries/{nid}", headers=admin)
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/admin/notifications/parked", headers=admin).json() == []


def test_outbox_routes_are_for_the_admin_only_and_name_bad_fields(app: App, client: TestClient) -> None:
    parked_reminder(app)
    assert client.get("/v1/admin/notifications").status_code == 401
    assert client.get("/v1/admin/notifications/parked", headers=token(
        app, "pharmacy", Scenario(app).certified_pharmacy().pharmacy_id)).status_code == 403
    admin = token(app, "admin")
    bad = client.get("/v1/admin/notifications", params={"state": "lost"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["field"] == "state"
    bad = client.get("/v1/admin/notifications/parked", params={"limit": 0}, headers=admin)
    assert bad.status_code == 422 and bad.json()["field"] == "limit"
    assert client.post("/v1/admin/notification-retries/ntf_nope", headers=admin).status_code == 404


def rems(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], app: App,
         *args: str) -> tuple[int, str]:
    """`rems --json ARGS` in this process (the real entry point, its error mapping and exit codes)."""
    monkeypatch.setattr(state, "app", app)
    monkeypatch.setattr(state, "json", False)
    monkeypatch.setattr(sys, "argv", ["rems", "--json", *args])
    try:
        run()
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out


def test_the_cli_shows_parked_and_retries_with_exit_codes(app: App, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    nid = parked_reminder(app)
    code, out = rems(monkeypatch, capsys, app, "notifications", "parked")
    assert code == 0 and [n["id"] for n in json.loads(out)] == [nid]
    assert rems(monkeypatch, capsys, app, "notifications", "retry", nid)[0] == 0
    code, out = rems(monkeypatch, capsys, app, "notifications", "retry", nid)
    assert code == 5 and "only a parked one" in json.loads(out)["message"]
    assert rems(monkeypatch, capsys, app, "notifications", "retry", "ntf_nope")[0] == 4
    code, out = rems(monkeypatch, capsys, app, "notifications", "list", "--state", "lost")
    assert code == 2 and json.loads(out)["field"] == "state"
    code, out = rems(monkeypatch, capsys, app, "notifications", "contact", "patient:pat_x", "--email", "nope")
    assert code == 2 and json.loads(out)["field"] == "email"
