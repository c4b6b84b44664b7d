"""Issue 18 (office lane): the CLI takes contact details and the strength (a bad one exits 2 naming
its option, nothing written), and migration 0018 upgrades a filled database on both stores
(existing prescriptions keep no strength, no contact row appears) and downgrades again."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, select, text

from rems.adapters import orm
from rems.adapters.database import migrate
from rems.bootstrap import App
from tests.api.test_input_cli import _run
from tests.api.world import World
from tests.service.builders import npi_of


def test_the_cli_enrolls_with_contact_details_and_names_a_bad_option(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cli.db"  # where _run points the CLI
    assert _run(["init"], tmp_path, monkeypatch, capsys)[0] == 0
    code, out = _run(["--json", "prescriber", "enroll", "--name", "Dr C", "--npi", npi_of(5, 150_000_000),
                      "--attested", "--education-reviewed", "--office-phone", "+1 555 010 0100"],
                     tmp_path, monkeypatch, capsys)
    assert code == 0, out
    found = re.search(r'"id": "(prs_[^"]+)"', out)
    assert found, out
    doc = found.group(1)
    assert _run(["prescriber", "certify", doc, "--program", "pomalidomide"], tmp_path, monkeypatch, capsys)[0] == 0
    base = ["patient", "enroll", "--prescriber", doc, "--name", "Cli Patient", "--sex", "male",
            "--birth-date", "1980-01-01", "--category", "adult_male"]
    code, out = _run([*base, "--phone", "555 0100"], tmp_path, monkeypatch, capsys)
    assert code == 2 and "--phone" in out and "international number" in out and "555 0100" not in out, out
    code, out = _run([*base, "--guardian-email", "p@example.org"], tmp_path, monkeypatch, capsys)
    assert code == 2 and "--guardian-email" in out and "R6" in out, out
    code, out = _run([*base, "--email", "cli@example.org", "--preferred", "email"], tmp_path, monkeypatch, capsys)
    assert code == 0, out
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as connection:
        rows = {(r.holder_kind, r.phone, r.email, r.preferred)
                for r in connection.execute(select(orm.contact_details)).all()}
    engine.dispose()
    assert rows == {("prescriber", "+15550100100", None, None), ("patient", None, "cli@example.org", "email")}


def test_migration_0018_upgrades_a_filled_database_and_back(app: App, w: World) -> None:
    migrate(app.engine, "0017", "downgrade")
    assert "contact_details" not in inspect(app.engine).get_table_names()
    assert "strength" not in {c["name"] for c in inspect(app.engine).get_columns("prescriptions")}
    migrate(app.engine, "head", "upgrade")
    with app.engine.connect() as connection:
        strengths = connection.execute(text("SELECT id, strength FROM prescriptions")).all()
        assert strengths and {s for _, s in strengths} == {None}  # kept, nothing invented
        assert {rx for rx, _ in strengths} >= {w.rx, w.stranger_rx}
        assert connection.execute(text("SELECT count(*) FROM contact_details")).scalar() == 0
    w.prescriber()  # the schema works again after the round trip
