"""Fixtures of the CLI tests: an initialised SQLite file the `rems` processes share."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_cli import rems


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "cli.db"
    assert rems(path, "init").returncode == 0
    return path
