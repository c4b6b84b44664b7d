"""`rems program` as an operator runs it (issue 17 items 4-5): real processes on a SQLite file and
a program directory whose pomalidomide file declares a relaxation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rems.bootstrap import bootstrap
from rems.settings import Settings
from tests.integration.test_cli import rems
from workflows.program import PROGRAM_DIR

RELAXATION = """
[[relaxations]]
name = "portal_down"
description = "the REMS portal is down"
waives = ["R26_CONFIRMATION_INVALID"]
max_days_supply = 4
max_hours = 24
"""


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    programs = tmp_path / "programs"
    shutil.copytree(PROGRAM_DIR, programs)
    with (programs / "pomalidomide.toml").open("a", encoding="utf-8") as file:
        file.write(RELAXATION)
    db = tmp_path / "cli.db"
    env = {"REMS_PROGRAM_DIR": str(programs)}
    app = bootstrap(Settings(env="test", database_url=f"sqlite:///{db}", program_dir=programs))
    app.migrate()
    app.engine.dispose()
    return db, env


def test_status_relaxation_approval_by_a_second_actor_and_uses(setup: tuple[Path, dict[str, str]]) -> None:
    db, env = setup
    shown = rems(db, "--json", "program", "status", "pomalidomide", env=env)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["relaxations"][0]["name"] == "portal_down"
    undeclared = rems(db, "--json", "--actor", "ann", "program", "relaxation", "activate", "pomalidomide",
                      "other", "--reason", "x", env=env)
    assert undeclared.returncode == 3
    assert json.loads(undeclared.stdout)["failures"][0]["code"] == "RELAXATION_NOT_DECLARED"
    act = rems(db, "--json", "--actor", "ann", "program", "relaxation", "activate", "pomalidomide",
               "portal_down", "--reason", "outage", env=env)
    assert act.returncode == 0, act.stderr
    key = json.loads(act.stdout)["id"]
    same = rems(db, "--json", "--actor", "ann", "program", "relaxation", "approve", "pomalidomide", key, env=env)
    assert same.returncode == 3 and "RELAXATION_SAME_ADMINISTRATOR" in same.stdout
    other = rems(db, "--json", "--actor", "bob", "program", "relaxation", "approve", "pomalidomide", key, env=env)
    assert other.returncode == 0 and json.loads(other.stdout)["approved_by"] == "bob"
    listed = rems(db, "program", "relaxation", "list", "pomalidomide", env=env)
    assert listed.returncode == 0 and "approved by bob" in listed.stdout
    assert json.loads(rems(db, "--json", "program", "uses", "pomalidomide", env=env).stdout) == []


def test_set_status_names_a_bad_date_and_records_a_good_one(setup: tuple[Path, dict[str, str]]) -> None:
    db, env = setup
    bad = rems(db, "--json", "program", "set-status", "pomalidomide", "--state", "eliminated",
               "--effective-from", "soon", "--reason", "x", env=env)
    assert bad.returncode == 2 and json.loads(bad.stdout)["field"] == "effective_from"
    assert "Traceback" not in bad.stdout + bad.stderr
    good = rems(db, "--actor", "ann", "program", "set-status", "pomalidomide", "--state", "eliminated",
                "--effective-from", "2099-01-01", "--reason", "FDA release", env=env)
    assert good.returncode == 0, good.stderr
    shown = rems(db, "program", "status", "pomalidomide", env=env).stdout
    assert shown.startswith("pomalidomide: active") and "2099-01-01 eliminated by ann" in shown
