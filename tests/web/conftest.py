"""Dashboard fixtures: the application on each test database (SQLite and PostgreSQL), a settable
clock, a browser-like client that keeps cookies, and the API tests' cast of actors."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from rems.asgi import create_app
from rems.bootstrap import App
from tests.api.conftest import Clock
from tests.api.world import World

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Browser:
    """A TestClient used the way a browser uses the dashboard: forms carry the page's CSRF token."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def csrf(self, path: str = "/web/login") -> str:
        found = CSRF.search(self.client.get(path).text)
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def sign_in(self, token: str) -> httpx.Response:
        return self.client.post("/web/login", data={"token": token, "csrf": self.csrf()})

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return self.client.get(path, **kwargs)  # type: ignore[arg-type]

    def submit(self, path: str, data: dict[str, str], page: str) -> httpx.Response:
        """POST a form as if from `page`: with the CSRF token that page carries."""
        return self.client.post(path, data={**data, "csrf": self.csrf(page)})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def w(app: App, clock: Clock) -> World:
    return World(app, clock).cast()


@pytest.fixture
def client(app: App, clock: Clock) -> Iterator[TestClient]:
    with TestClient(create_app(app, clock), follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def browser(client: TestClient) -> Browser:
    return Browser(client)


def signed_in(browser: Browser, w: World, actor: str) -> Browser:
    response = browser.sign_in(w.tokens[actor])
    assert response.status_code == 303, response.text
    return browser
