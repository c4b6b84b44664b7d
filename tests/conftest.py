"""Shared fixtures: a migrated database per test, on SQLite and on a real PostgreSQL.

`app` is parametrized: every test asking for it runs once on SQLite (a copy of one migrated file)
and once on PostgreSQL (a database created from one migrated template in a throwaway cluster,
tests/pg.py). REMS_TEST_DATABASES=sqlite runs SQLite only, on purpose; without it, missing
PostgreSQL binaries stop the whole run at start rather than skip anything.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rems.bootstrap import App, bootstrap
from rems.settings import Settings
from tests import pg

pytest_plugins = ["tests.rule_codes"]

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday; every test builds its timeline from here
DATABASES = pg.selected_databases()


def pytest_configure(config: pytest.Config) -> None:
    missing = pg.missing_binaries() if "postgresql" in DATABASES else []
    if missing:
        raise pytest.UsageError(
            f"PostgreSQL binaries are missing: {', '.join(missing)} not on PATH. The suite runs on "
            "SQLite and PostgreSQL: install PostgreSQL (`apt-get install postgresql`, then put "
            "/usr/lib/postgresql/*/bin on PATH; .ci/run does both), or set "
            f"{pg.DATABASES_ENV}=sqlite to run on SQLite alone.")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """By interpreter exit the test databases are gone and pytest has closed its streams: the
    anonymous-refusal counters' atexit flush (rems/http/anonymous.py) would fail on them and log a
    traceback to a closed stream. Their counts are the tests' own: dropped here."""
    from rems.http import anonymous
    anonymous._counters.clear()


def _bootstrap(url: str) -> App:
    return bootstrap(Settings(env="test", database_url=url))


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "rems.db"
    app = _bootstrap(f"sqlite:///{path}")
    app.migrate()
    app.engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[pg.Cluster]:
    """One PostgreSQL cluster per session (per xdist worker), started on first use."""
    if "postgresql" not in DATABASES:
        pytest.skip(f"{pg.DATABASES_ENV} excludes postgresql")
    cluster = pg.Cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def pg_template(pg_cluster: pg.Cluster) -> str:
    """A database migrated to head, copied for every test; nothing connects to it afterwards."""
    name = pg_cluster.create_database("rems_template")
    app = _bootstrap(pg_cluster.url(name))
    app.migrate()
    app.engine.dispose()
    return name


@pytest.fixture
def sqlite_url(template_db: Path, tmp_path: Path) -> str:
    path = tmp_path / "rems.db"
    shutil.copy(template_db, path)
    return f"sqlite:///{path}"


@pytest.fixture
def postgresql_url(pg_cluster: pg.Cluster, pg_template: str) -> Iterator[str]:
    name = pg_cluster.create_database(template=pg_template)
    yield pg_cluster.url(name)
    pg_cluster.drop_database(name)


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh migrated database on each selected kind (ids "sqlite" and "postgresql")."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


def _app(url: str) -> Iterator[App]:
    application = _bootstrap(url)
    yield application
    application.engine.dispose()


@pytest.fixture
def app(database_url: str) -> Iterator[App]:
    yield from _app(database_url)


@pytest.fixture
def pg_app(postgresql_url: str) -> Iterator[App]:
    """PostgreSQL only: for what SQLite cannot show (row locks, real concurrency, TRUNCATE)."""
    yield from _app(postgresql_url)
