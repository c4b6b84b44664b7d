"""A browser without a browser: follows redirects between our application (a TestClient, cookies
kept) and a real sign-in service (httpx over loopback), as a browser would."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from rems.adapters import orm
from rems.asgi import create_app
from rems.bootstrap import App
from tests.api.conftest import Clock

OURS = "http://127.0.0.1:8000"  # REMS_PUBLIC_BASE_URL's default: our callback URLs start with it


def real_time() -> Clock:
    """The providers stamp their ID tokens with the real time: our clock starts there too."""
    return Clock(datetime.now(UTC).replace(microsecond=0))


@contextmanager
def walking(app: App, clock: Clock) -> Iterator[Walker]:
    with TestClient(create_app(app, clock), follow_redirects=False) as client:
        walker = Walker(client)
        yield walker
        walker.close()


class Walker:
    def __init__(self, ours: TestClient) -> None:
        self.ours = ours
        self.theirs = httpx.Client(follow_redirects=False, timeout=10)

    def get(self, url: str) -> Any:  # an httpx Response, or httpx2's from the TestClient
        if url.startswith(OURS) or url.startswith("/"):
            return self.ours.get(url.removeprefix(OURS))
        return self.theirs.get(url)

    def follow(self, response: Any, stop_at: str = "") -> Any:
        """Redirects followed until a page (or a redirect to a URL starting with `stop_at`)."""
        for _ in range(10):
            if response.status_code not in (302, 303, 307) or (stop_at and
                                                                response.headers["location"].startswith(stop_at)):
                return response
            response = self.get(response.headers["location"])
        raise AssertionError("a redirect loop")

    def close(self) -> None:
        self.theirs.close()


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    return urlunsplit(parts._replace(query=urlencode({**query, **changes})))


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def sign_in_steps(app: App) -> list[tuple[str, str, dict[str, str]]]:
    """The audited steps of sign-ins and launches (entity `sign_in`), and the sessions they opened."""
    t = orm.audit_log.c
    with app.uow(write=False) as uow:
        rows = uow.session.execute(select(t.actor, t.trigger, t.refs).where(
            t.entity.in_(["sign_in", "api_token"])).order_by(t.id)).all()
    return [(r.actor, r.trigger, dict(r.refs or {})) for r in rows if r.trigger != "create"]
