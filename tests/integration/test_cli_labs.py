"""`rems lab record` / `rems lab list` as a user runs them (issue 17 item 1): real processes on a
real SQLite file; bad input names the field with exit 2, an unknown patient is exit 4."""

from __future__ import annotations

import json
from pathlib import Path

from rems.bootstrap import bootstrap
from rems.settings import Settings
from tests.api.conftest import Clock
from tests.api.world import World
from tests.integration.test_cli import rems


def _patient(db: Path) -> str:
    app = bootstrap(Settings(env="test", database_url=f"sqlite:///{db}"))
    try:
        return World(app, Clock()).cast().male
    finally:
        app.engine.dispose()


def test_a_lab_result_is_recorded_and_listed(db: Path) -> None:
    patient = _patient(db)
    done = rems(db, "--json", "lab", "record", patient, "--analyte", "ALT", "--value", "99.9", "--unit", "U/L",
                "--uln", "33.3", "--collected-at", "2026-11-24T21:30:00-05:00")
    assert done.returncode == 0, done.stdout + done.stderr
    answer = json.loads(done.stdout)
    assert (answer["analyte"], answer["value"], answer["upper_limit_normal"]) == ("ALT", "99.9", "33.3")
    assert answer["collected_at"] == "2026-11-25T02:30:00Z"  # T1: the offset kept, stored in UTC
    listed = rems(db, "lab", "list", patient)
    assert listed.returncode == 0 and "ALT 99.9 U/L (ULN 33.3)" in listed.stdout, listed.stdout


def test_bad_input_names_the_field_with_exit_2_and_an_unknown_patient_is_exit_4(db: Path) -> None:
    patient = _patient(db)
    base = ["--json", "lab", "record", patient, "--unit", "U/L"]
    for options, field in ((["--analyte", "hCG", "--value", "1", "--uln", "40"], "analyte"),
                           (["--analyte", "ALT", "--value", "-1", "--uln", "40"], "value"),
                           (["--analyte", "ALT", "--value", "30"], "upper_limit_normal"),
                           (["--analyte", "ALT", "--value", "30", "--uln", "40", "--collected-at",
                             "2026-11-24T21:30"], "collected_at")):
        done = rems(db, *base, *options)
        assert done.returncode == 2, done.stdout + done.stderr
        assert json.loads(done.stdout)["field"] == field
        assert "Traceback" not in done.stdout + done.stderr
    missing = rems(db, "lab", "record", "pat_nobody", "--analyte", "ANC", "--value", "1500", "--unit", "cells/uL")
    assert missing.returncode == 4 and "not found" in missing.stderr
    assert "no lab results" in rems(db, "lab", "list", patient).stdout
