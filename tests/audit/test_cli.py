"""`rems audit` and `rems report` as an operator runs them: real processes on a SQLite file."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from rems.bootstrap import bootstrap
from rems.settings import Settings
from tests.integration.test_cli import rems
from tests.service.builders import Scenario


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A dispensed cycle and a refused dispense, written through the services."""
    path = tmp_path / "cli.db"
    app = bootstrap(Settings(env="test", database_url=f"sqlite:///{path}"))
    app.migrate()
    try:
        s = Scenario(app).certified_prescriber().certified_pharmacy().enrolled("adult_male").ready()
        rx, confirmation, _ = s.dispensed()
        assert rx.number is not None
        with pytest.raises(Exception, match="R33"):
            s.dispense(confirmation.number)
    finally:
        app.engine.dispose()
    return path


def test_verify_then_tamper_then_verify_names_the_entry_and_exits_7(db: Path, tmp_path: Path) -> None:
    head = tmp_path / "head.json"
    exported = rems(db, "audit", "head", "--out", str(head))
    assert exported.returncode == 0, exported.stderr
    saved = json.loads(head.read_text())
    assert saved["seq"] > 10 and len(saved["hash"]) == 64
    intact = rems(db, "audit", "verify", "--head", str(head))
    assert intact.returncode == 0 and "audit chain intact" in intact.stdout
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("UPDATE audit_log SET actor = 'nobody' WHERE seq = 7")
        victim = conn.execute("SELECT id FROM audit_log WHERE seq = 7").fetchone()[0]
    broken = rems(db, "--json", "audit", "verify")
    assert broken.returncode == 7
    finding = json.loads(broken.stdout)["finding"]
    assert (finding["kind"], finding["seq"], finding["entry_id"]) == ("altered", 7, victim)
    human = rems(db, "audit", "verify", "--head", str(head))
    assert human.returncode == 7 and "audit chain broken at entry 7" in human.stderr
    assert "Traceback" not in human.stdout + human.stderr


def test_a_malformed_head_file_is_bad_input_and_an_unknown_patient_not_found(db: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"seq": 3, "hash": "nope"}')
    done = rems(db, "--json", "audit", "verify", "--head", str(bad))
    assert done.returncode == 2 and json.loads(done.stdout)["field"] == "head.hash"
    assert rems(db, "report", "history", "pat_missing").returncode == 4


def test_reports_print_csv_and_json_and_plots_are_written(db: Path, tmp_path: Path) -> None:
    period = ("--start", "2026-03-01", "--end", "2026-04-01")
    csv_out = rems(db, "report", "period", *period, "--format", "csv")
    assert csv_out.returncode == 0, csv_out.stderr
    lines = csv_out.stdout.splitlines()
    assert lines[0] == "metric,key,value" and "dispenses,all,1" in lines
    assert "refusals_by_rule,R33,1" in lines
    plots = rems(db, "report", "plot", *period, "--out", str(tmp_path / "plots"))
    assert plots.returncode == 0, plots.stderr
    for name in ("refusals.png", "dispenses.png"):
        assert (tmp_path / "plots" / name).read_bytes().startswith(b"\x89PNG")
    backwards = rems(db, "--json", "report", "period", "--start", "2026-04-01", "--end", "2026-03-01")
    assert backwards.returncode == 2 and json.loads(backwards.stdout)["field"] == "end"
