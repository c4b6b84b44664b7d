"""Issue 17 item 8 through the CLI as an operator runs it: real `rems` processes on SQLite files."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.test_cli import rems
from tests.service.builders import npi_of


def _exported(tmp_path: Path) -> Path:
    source = tmp_path / "source.db"
    assert rems(source, "init").returncode == 0
    assert rems(source, "seed-demo").returncode == 0
    assert rems(source, "audit", "head", "--out", str(tmp_path / "head.json")).returncode == 0
    out = tmp_path / "out"
    done = rems(source, "--json", "program", "export", "pomalidomide", str(out))
    assert done.returncode == 0, done.stderr
    manifest = json.loads(done.stdout)
    assert manifest["counts"]["patients"] == 1 and manifest["counts"]["gate_answers"] == 1
    trail = json.loads(rems(source, "--json", "audit", "show", "program", "pomalidomide").stdout)
    assert [entry["trigger"] for entry in trail] == ["export"]  # the source audits its export
    return out


def test_export_import_and_verify_copy_prove_the_copy(tmp_path: Path) -> None:
    out = _exported(tmp_path)
    copy = tmp_path / "copy.db"
    assert rems(copy, "init").returncode == 0
    done = rems(copy, "program", "import", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the copy is proven" in done.stdout
    again = rems(copy, "--json", "program", "verify-copy", str(out))
    assert again.returncode == 0 and json.loads(again.stdout)["ok"] is True
    # the whole chain was copied: the copy holds the head the source's operator kept elsewhere
    held = rems(copy, "audit", "verify", "--head", str(tmp_path / "head.json"))
    assert held.returncode == 0, held.stdout + held.stderr
    refused = rems(copy, "program", "import", str(out))  # the copy is not empty any more
    assert refused.returncode == 5 and "not empty" in refused.stderr
    assert "Traceback" not in refused.stdout + refused.stderr


def test_a_changed_line_is_refused_naming_file_and_line(tmp_path: Path) -> None:
    out = _exported(tmp_path)
    path = out / "prescriptions.ndjson"
    path.write_text(path.read_text(encoding="ascii").replace('"days_supply":28', '"days_supply":84'),
                    encoding="ascii")
    copy = tmp_path / "copy.db"
    assert rems(copy, "init").returncode == 0
    done = rems(copy, "--json", "program", "import", str(out))
    assert done.returncode == 2
    assert json.loads(done.stdout)["field"] == "prescriptions.ndjson:1"
    assert rems(copy, "--json", "program", "verify-copy", str(out)).returncode == 2


def test_export_refuses_a_directory_that_is_not_empty(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    assert rems(db, "init").returncode == 0
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x", encoding="utf-8")
    done = rems(db, "program", "export", "pomalidomide", str(tmp_path / "full"))
    assert done.returncode == 2 and "not an empty directory" in done.stderr


def test_import_csv_dry_run_lists_each_refused_row_then_a_clean_file_is_imported(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    assert rems(db, "init").returncode == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("name,npi,attested,education_reviewed,certified\n"
                   f"Dr A,{npi_of(7001)},yes,yes,yes\nDr B,12345,yes,yes,yes\nDr C,{npi_of(7003)},no,yes,yes\n",
                   encoding="utf-8")
    done = rems(db, "import-csv", "prescribers", str(bad), "--dry-run", "--program", "pomalidomide")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "row 3, npi:" in done.stderr and "row 4, certified:" in done.stderr and "R2" in done.stderr
    real = rems(db, "--json", "import-csv", "prescribers", str(bad), "--program", "pomalidomide")
    assert real.returncode == 3 and json.loads(real.stdout)["written"] is False
    good = tmp_path / "good.csv"
    good.write_text(f"name,npi,attested,education_reviewed,certified\nDr A,{npi_of(7001)},yes,yes,yes\n",
                    encoding="utf-8")
    imported = rems(db, "--json", "import-csv", "prescribers", str(good), "--program", "pomalidomide")
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert json.loads(imported.stdout)["written"] is True
    listed = rems(db, "--json", "audit", "verify")
    assert listed.returncode == 0 and json.loads(listed.stdout)["entries"] == 2  # enroll, certify
