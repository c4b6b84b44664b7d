"""Bearer tokens (issue 3): missing, unknown, expired, revoked → 401; another role → 403; every
refusal audited; the database keeps only a hash of each token."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from rems.http.principals import PrincipalCache
from rems.services.access import tokens
from tests.api.conftest import Clock
from tests.api.world import ADMIN, World

ROOT = Path(__file__).resolve().parents[2]


def operations(client: TestClient) -> list[tuple[str, str, str]]:
    """(method, path with placeholder ids, role) for every operation in the OpenAPI document."""
    found = []
    for path, ops in client.get("/openapi.json").json()["paths"].items():
        for method, op in ops.items():
            concrete = path
            for p in op.get("parameters", []):
                if p["in"] == "path":
                    enum = p["schema"].get("enum")
                    concrete = concrete.replace(f"{{{p['name']}}}", enum[0] if enum else "x1")
            found.append((method.upper(), concrete, path.split("/")[2]))
    return found


def test_every_route_needs_a_bearer_token(client: TestClient, w: World) -> None:
    for method, path, _role in operations(client):
        response = client.request(method, path, json={})
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.headers["content-type"] == "application/problem+json"
    assert set(w.refusals("anonymous")) == {"AUTH_TOKEN_MISSING"}


def test_every_route_refuses_the_other_roles_with_403_audited(client: TestClient, w: World) -> None:
    callers = {"pharmacy": w.pharm, "prescriber": w.doc, "patient": w.male, "admin": ADMIN}
    refused = 0
    for method, path, role in operations(client):
        for caller_role, caller in callers.items():
            if caller_role == role:
                continue
            response = client.request(method, path, json={}, headers=w.auth(caller))
            assert response.status_code == 403, (method, path, caller_role)
            assert response.json()["type"] == "urn:rems:problem:forbidden"
            refused += 1
    assert sum(len(w.refusals(actor)) for actor in callers.values()) == refused


def test_an_unknown_token_is_refused(client: TestClient, w: World) -> None:
    response = client.get("/v1/pharmacy/me", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert w.refusals("anonymous") == ["AUTH_TOKEN_UNKNOWN"]


def test_an_expired_token_is_refused(client: TestClient, w: World, clock: Clock) -> None:
    w.token("pharmacy", w.pharm, days=1)
    assert client.get("/v1/pharmacy/me", headers=w.auth(w.pharm)).status_code == 200
    clock.advance(days=1)
    response = client.get("/v1/pharmacy/me", headers=w.auth(w.pharm))
    assert response.status_code == 401
    assert response.json()["detail"] == "token expired"
    assert w.refusals(w.pharm) == ["AUTH_TOKEN_EXPIRED"]


class Ticks:
    """The principal cache's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks(client: TestClient, w: World) -> Ticks:
    """The app's principal cache (issue 14 item 2) on a clock the test moves."""
    ticker = Ticks()
    client.app.state.principals = PrincipalCache(  # type: ignore[attr-defined]
        w.app.settings.token_cache_seconds, ticker)
    return ticker


def test_a_revoked_token_is_refused_once_the_cache_bound_has_passed(client: TestClient, w: World,
                                                                    ticks: Ticks) -> None:
    bound = w.app.settings.token_cache_seconds
    assert bound > 0
    token_id = w.token("prescriber", w.doc)
    assert client.get("/v1/prescriber/me", headers=w.auth(w.doc)).status_code == 200
    w.call(tokens.revoke_token, token_id)
    ticks.now += bound * 0.9  # the documented bound: still trusted from the cache
    assert client.get("/v1/prescriber/me", headers=w.auth(w.doc)).status_code == 200
    ticks.now += bound * 0.2
    response = client.get("/v1/prescriber/me", headers=w.auth(w.doc))
    assert response.status_code == 401
    assert response.json()["detail"] == "token revoked"
    assert w.refusals(w.doc)[-1:] == ["AUTH_TOKEN_REVOKED"]


def test_a_cached_token_is_refused_the_moment_it_expires(client: TestClient, w: World, ticks: Ticks,
                                                         clock: Clock) -> None:
    assert client.get("/v1/pharmacy/me", headers=w.auth(w.pharm)).status_code == 200
    clock.advance(days=31)  # the cast's 30-day token is over; its cache entry is still fresh
    response = client.get("/v1/pharmacy/me", headers=w.auth(w.pharm))
    assert response.status_code == 401
    assert response.json()["detail"] == "token expired"


def test_without_the_cache_a_revoked_token_is_refused_at_once(client: TestClient, w: World) -> None:
    client.app.state.principals = PrincipalCache(0.0)  # type: ignore[attr-defined]
    token_id = w.token("prescriber", w.doc)
    assert client.get("/v1/prescriber/me", headers=w.auth(w.doc)).status_code == 200
    w.call(tokens.revoke_token, token_id)
    assert client.get("/v1/prescriber/me", headers=w.auth(w.doc)).status_code == 401


def test_the_database_keeps_a_hash_never_the_token(w: World) -> None:
    with w.app.engine.connect() as connection:
        rows = [dict(r._mapping) for r in connection.execute(text("SELECT * FROM api_tokens"))]
    assert len(rows) == len(w.tokens)
    stored = json.dumps(rows, default=str)
    for secret in w.tokens.values():
        assert secret not in stored
        assert hashlib.sha256(secret.encode()).hexdigest() in {r["token_hash"] for r in rows}


def _rems(db: Path, *args: str) -> dict[str, Any]:
    env = {**os.environ, "REMS_DATABASE_URL": f"sqlite:///{db}"}
    done = subprocess.run([sys.executable, "-m", "rems.cli", "--json", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_tokens_are_created_and_revoked_from_the_cli(client: TestClient, w: World, db_path: Path,
                                                     clock: Clock, ticks: Ticks) -> None:
    clock.now = datetime.now(UTC)  # the CLI stamps tokens with the real time
    created = _rems(db_path, "token", "create", "--role", "pharmacy", "--actor", w.pharm,
                    "--expires-in-days", "2")
    auth = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/v1/pharmacy/me", headers=auth).json()["id"] == w.pharm
    _rems(db_path, "token", "revoke", created["id"])  # another process: only the bound tells us
    ticks.now += w.app.settings.token_cache_seconds
    assert client.get("/v1/pharmacy/me", headers=auth).status_code == 401


@pytest.mark.parametrize(("role", "actor"), [("pharmacy", "phm_missing"), ("admin", "bad name!")])
def test_a_token_for_nobody_is_not_issued(w: World, role: str, actor: str) -> None:
    from rems.domain.errors import DomainError
    with pytest.raises(DomainError):
        w.call(tokens.issue_token, tokens.IssueToken(role=role, actor_id=actor))  # type: ignore[arg-type]
