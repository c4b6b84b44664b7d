"""Shared fixtures: a migrated SQLite database per test (copied from one migrated template)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rems.bootstrap import App, bootstrap
from rems.settings import Settings

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday; every test builds its timeline from here


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "rems.db"
    app = bootstrap(Settings(env="test", database_url=f"sqlite:///{path}"))
    app.migrate()
    app.engine.dispose()
    return path


@pytest.fixture
def app(template_db: Path, tmp_path: Path) -> Iterator[App]:
    path = tmp_path / "rems.db"
    shutil.copy(template_db, path)
    application = bootstrap(Settings(env="test", database_url=f"sqlite:///{path}"))
    yield application
    application.engine.dispose()
