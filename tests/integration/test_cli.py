"""The CLI as a user runs it: real processes, a real SQLite file, exit codes and messages."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def rems(db: Path, *args: str, cwd: Path = ROOT,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REMS_DATABASE_URL": f"sqlite:///{db}", **(env or {})}
    return subprocess.run([sys.executable, "-m", "rems.cli", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


def test_bad_input_names_the_field_with_exit_2_and_no_traceback(db: Path) -> None:
    done = rems(db, "--json", "prescriber", "enroll", "--name", "Dr A", "--npi", "12ab")
    assert done.returncode == 2
    assert json.loads(done.stdout)["field"] == "npi"
    assert "Traceback" not in done.stdout + done.stderr


def test_bad_timestamp_names_the_field(db: Path) -> None:
    done = rems(db, "--json", "test", "record", "pat_x", "--result", "negative", "--sensitivity", "50",
                "--collected-at", "yesterday")
    assert done.returncode == 2
    assert json.loads(done.stdout)["field"] == "collected_at"


@pytest.mark.parametrize("wall_clock", ["2026-11-24T21:30:00", "2026-11-24T21:30", "2026-11-24"])
def test_t1_a_collection_time_without_offset_is_refused_naming_the_option(db: Path, wall_clock: str) -> None:
    """T1: a wall-clock time is refused, never taken as UTC (21:30 in New York is 02:30Z next day)."""
    done = rems(db, "--json", "test", "record", "pat_x", "--result", "negative", "--sensitivity", "50",
                "--collected-at", wall_clock)
    assert done.returncode == 2, done.stdout + done.stderr
    answer = json.loads(done.stdout)
    assert answer["field"] == "collected_at" and "--collected-at" in answer["message"]
    assert "offset" in answer["message"]


def test_t1_a_collection_time_with_offset_passes_the_time_check(db: Path) -> None:
    done = rems(db, "test", "record", "pat_x", "--result", "negative", "--sensitivity", "50",
                "--collected-at", "2026-11-24T21:30:00-05:00")
    assert done.returncode == 4 and "not found" in done.stderr  # past the time check: no such patient


@pytest.mark.parametrize(("option", "value"), [("--start", "2026-03-01T00:00:00"), ("--end", "2026-04-01T12:00:00")])
def test_t1_a_report_bound_without_offset_is_refused_naming_the_option(db: Path, option: str, value: str) -> None:
    bounds = {"--start": "2026-03-01", "--end": "2026-04-01", option: value}
    done = rems(db, "report", "period", *(part for pair in bounds.items() for part in pair))
    assert done.returncode == 2 and option in done.stderr, done.stderr
    dated = rems(db, "report", "period", "--start", "2026-03-01T00:00:00-05:00", "--end", "2026-04-01")
    assert dated.returncode == 0, dated.stderr


def test_unknown_record_exits_4(db: Path) -> None:
    done = rems(db, "status", "pat_missing")
    assert done.returncode == 4
    assert "not found" in done.stderr


def test_uninitialised_database_says_to_run_init(tmp_path: Path) -> None:
    done = rems(tmp_path / "empty.db", "status", "pat_x")
    assert done.returncode == 6
    assert "rems init" in done.stderr
    assert "Traceback" not in done.stderr


def test_refusal_exits_3_listing_every_failing_rule(db: Path) -> None:
    doc = json.loads(rems(db, "--json", "prescriber", "enroll", "--name", "Dr A", "--npi", "1234567893",
                          "--attested", "--education-reviewed").stdout)["id"]
    done = rems(db, "--json", "patient", "enroll", "--prescriber", doc, "--name", "P", "--sex", "male",
                "--birth-date", "1970-01-01", "--category", "adult_frp")
    assert done.returncode == 3
    codes = {f["code"] for f in json.loads(done.stdout)["failures"]}
    assert codes == {"R5_PRESCRIBER_NOT_CERTIFIED", "R5_PPAF_CATEGORY_MISMATCH"}
    with sqlite3.connect(db) as conn:  # nothing half-written: no patient, no PPAF, no audit row
        counts = [conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                  for t in ("patients", "ppafs")]
        patient_audit = conn.execute("SELECT COUNT(*) FROM audit_log WHERE entity = 'patient'").fetchone()[0]
    assert counts == [0, 0] and patient_audit == 0


def test_the_state_machine_diagrams_match_the_definitions(tmp_path: Path) -> None:
    done = rems(tmp_path / "unused.db", "diagrams", "--check", "--file", str(ROOT / "docs" / "workflows.md"))
    assert done.returncode == 0, done.stderr


def test_diagrams_check_fails_when_the_document_drifts(tmp_path: Path) -> None:
    stale = tmp_path / "workflows.md"
    stale.write_text((ROOT / "docs" / "workflows.md").read_text().replace("--> certified", "--> nowhere", 1))
    assert rems(tmp_path / "unused.db", "diagrams", "--check", "--file", str(stale)).returncode == 1


def test_the_demo_walks_an_frp_patient_to_a_dispense(tmp_path: Path) -> None:
    done = rems(tmp_path / "unused.db", "demo", "--database", str(tmp_path / "demo.db"))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    out = done.stdout
    for code in ("R9_EARLY_TEST_MISSING", "R10_TEST_NOT_ACCEPTABLE", "R19_PRESCRIBER_SURVEY_MISSING",
                 "R29_COUNSELLING_INCOMPLETE", "R33_ALREADY_DISPENSED"):
        assert code in out
    assert "AUTHORIZED number POM-" in out
    assert "confirmed -> dispensed" in out
    assert "demo complete" in out


def _enrolled_prescriber(db: Path, env: dict[str, str] | None = None) -> str:
    done = rems(db, "--json", "prescriber", "enroll", "--name", "Dr C", "--npi", "1234567802", "--attested",
                "--education-reviewed", env=env)
    return str(json.loads(done.stdout)["id"])


def test_a_certification_without_a_program_exits_2_naming_the_option_when_several_are_loaded(db: Path) -> None:
    """R1, R25: certification is per program; with three programs loaded there is no default."""
    doc = _enrolled_prescriber(db)
    done = rems(db, "--json", "prescriber", "certify", doc)
    assert done.returncode == 2 and "Traceback" not in done.stdout + done.stderr
    assert json.loads(done.stdout)["field"] == "--program"
    human = rems(db, "prescriber", "certify", doc)
    assert human.returncode == 2 and "--program" in human.stderr and "several programs" in human.stderr
    certified = json.loads(rems(db, "--json", "prescriber", "certify", doc, "--program", "lenalidomide").stdout)
    assert (certified["program_id"], certified["state"]) == ("lenalidomide", "certified")
    shown = json.loads(rems(db, "--json", "prescriber", "show", doc).stdout)["certifications"]
    assert [(c["program_id"], c["state"]) for c in shown] == [("lenalidomide", "certified")]
    assert rems(db, "prescriber", "certify", doc, "--program", "nowhere").returncode == 2


def test_with_a_single_program_loaded_the_default_program_applies(tmp_path: Path) -> None:
    programs = tmp_path / "programs"
    programs.mkdir()
    (programs / "pomalidomide.toml").write_text(
        (ROOT / "workflows" / "programs" / "pomalidomide.toml").read_text(encoding="utf-8"), encoding="utf-8")
    env = {"REMS_PROGRAM_DIR": str(programs)}
    db = tmp_path / "one.db"
    assert rems(db, "init", env=env).returncode == 0
    doc = _enrolled_prescriber(db, env)
    done = rems(db, "--json", "pharmacy", "certify", "phm_missing", env=env)
    assert done.returncode == 4  # the default program applies; the pharmacy does not exist
    certified = json.loads(rems(db, "--json", "prescriber", "certify", doc, env=env).stdout)
    assert (certified["program_id"], certified["state"]) == ("pomalidomide", "certified")
