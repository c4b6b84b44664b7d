"""Anonymous refusals cost nothing (issue 15 item 8), on both stores: counted per minute, route and
code (one upsert per bucket and flush, never an audit entry, never the chain), rate-limited per
client with 429 and Retry-After; a refused actor is still audited one entry each."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from rems.adapters import orm
from rems.asgi import create_app
from rems.bootstrap import App, bootstrap
from rems.http import anonymous
from rems.settings import Settings
from tests.api.conftest import Clock
from tests.api.world import World

MINUTE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ME, CHECK = "/v1/pharmacy/me", "/v1/pharmacy/authorizations/{number}/check"


def _entries(app: App) -> int:
    with app.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(orm.audit_log)).scalar_one()


@pytest.fixture
def limited(app: App) -> Iterator[App]:
    """The test's database with a rate of 5 refusals per client and minute, written at once."""
    url = app.engine.url.render_as_string(hide_password=False)
    application = bootstrap(Settings(env="test", database_url=url, anonymous_refusals_per_minute=5,
                                     anonymous_refusals_flush_seconds=0))
    yield application
    application.engine.dispose()


def test_anonymous_refusals_are_counted_per_minute_and_route_never_chained(app: App) -> None:
    clock = Clock(MINUTE + timedelta(seconds=10))
    entries = _entries(app)
    with TestClient(create_app(app, clock)) as client:
        for _ in range(30):
            assert client.get(ME).status_code == 401
        for n in range(20):
            response = client.get(f"/v1/pharmacy/authorizations/RX-{n:010d}/check",
                                  headers={"Authorization": "Bearer not-a-token"})
            assert response.status_code == 401
        clock.advance(minutes=1)
        assert client.get(ME).status_code == 401
    assert _entries(app) == entries  # not one audit entry
    assert anonymous.stored(app) == Counter({
        (MINUTE, ME, "AUTH_TOKEN_MISSING"): 30, (MINUTE, CHECK, "AUTH_TOKEN_UNKNOWN"): 20,
        (MINUTE + timedelta(minutes=1), ME, "AUTH_TOKEN_MISSING"): 1})


def test_past_the_rate_a_client_gets_429_with_retry_after_until_the_minute_ends(limited: App) -> None:
    clock = Clock(MINUTE + timedelta(seconds=45))
    with TestClient(create_app(limited, clock)) as client:
        assert [client.get(ME).status_code for _ in range(5)] == [401] * 5
        refused = client.get(ME)
        assert refused.status_code == 429 and refused.headers["retry-after"] == "15"
        assert refused.json()["type"] == "urn:rems:problem:rate-limited"
        clock.advance(seconds=15)
        assert client.get(ME).status_code == 401  # a new minute, a new allowance
    assert anonymous.stored(limited) == Counter({
        (MINUTE, ME, "AUTH_TOKEN_MISSING"): 5, (MINUTE, ME, anonymous.RATE_LIMITED): 1,
        (MINUTE + timedelta(minutes=1), ME, "AUTH_TOKEN_MISSING"): 1})


def test_the_rate_is_per_client_and_spares_callers_with_a_valid_token(limited: App) -> None:
    clock = Clock(MINUTE)
    w = World(limited, clock).cast()
    with TestClient(create_app(limited, clock)) as client:
        for _ in range(6):
            client.get(ME)
        assert client.get(ME).status_code == 429
        assert client.get(ME, headers=w.auth(w.pharm)).status_code == 200
    with TestClient(create_app(limited, clock), client=("192.0.2.7", 50000)) as other:
        assert other.get(ME).status_code == 401


def test_a_refused_actor_is_still_audited_one_entry_each(app: App) -> None:
    clock = Clock(MINUTE)
    w = World(app, clock).cast()
    entries = _entries(app)
    with TestClient(create_app(app, clock)) as client:
        for _ in range(3):
            assert client.get(ME, headers=w.auth(w.doc)).status_code == 403
    assert _entries(app) == entries + 3
    assert w.refusals(w.doc) == ["AUTH_ROLE_FORBIDDEN"] * 3
