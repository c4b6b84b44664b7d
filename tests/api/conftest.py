"""API fixtures: a migrated SQLite database per test, a settable clock, a client and a cast."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rems.asgi import create_app
from rems.bootstrap import App, bootstrap
from rems.settings import Settings
from tests.api.world import World

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    """The API's clock in tests: time moves only when a test says so."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def api_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("api-template") / "rems.db"
    application = bootstrap(Settings(env="test", database_url=f"sqlite:///{path}"))
    application.migrate()
    application.engine.dispose()
    return path


@pytest.fixture
def db_path(api_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "api.db"
    shutil.copy(api_template, path)
    return path


@pytest.fixture
def rems_app(db_path: Path) -> Iterator[App]:
    application = bootstrap(Settings(env="test", database_url=f"sqlite:///{db_path}"))
    yield application
    application.engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(rems_app: App, clock: Clock) -> Iterator[TestClient]:
    with TestClient(create_app(rems_app, clock)) as test_client:
        yield test_client


@pytest.fixture
def w(rems_app: App, clock: Clock) -> World:
    """Two certified prescribers and pharmacies, a token for each actor, patients on both sides."""
    return World(rems_app, clock).cast()
