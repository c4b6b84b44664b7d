"""Issue 15 item 6 at the command line: a control character in any argument exits 2 naming the
option, before a database is opened; an NPI failing its check digit exits 2 naming npi."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rems.cli.main import run
from rems.cli.output import state


def _run(args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
         capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    monkeypatch.setenv("REMS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setattr(state, "app", None)  # the CLI keeps its application per process: this test's database
    monkeypatch.setattr(sys, "argv", ["rems", *args])
    try:
        run()
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    out = capsys.readouterr()
    return code, out.err + out.out


@pytest.mark.parametrize("bad", ["\x00", "\r\n", "\t", "\x07", "\x1b[2J", "\x7f", "\x9b"])
@pytest.mark.parametrize(("args", "named"), [
    (["prescriber", "enroll", "--name", "Dr {bad}X", "--npi", "1234567893"], "--name"),
    (["prescriber", "enroll", "--name=Dr {bad}X", "--npi", "1234567893"], "--name"),
    (["--actor", "ops{bad}", "check", "POM-1"], "--actor"),
    (["check", "POM-{bad}1"], "argument 2"),
])
def test_a_control_character_in_an_argument_exits_2_naming_it(
        args: list[str], named: str, bad: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run([a.replace("{bad}", bad) for a in args], tmp_path, monkeypatch, capsys)
    assert code == 2 and named in out and "control characters" in out, out
    assert not (tmp_path / "cli.db").exists()  # refused before anything was opened


def test_an_npi_failing_its_check_digit_exits_2_naming_npi_r1(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["init"], tmp_path, monkeypatch, capsys)[0] == 0
    code, out = _run(["prescriber", "enroll", "--name", "Dr A", "--npi", "1234567890", "--attested",
                      "--education-reviewed"], tmp_path, monkeypatch, capsys)
    assert code == 2 and "npi" in out and "check digit should be 3" in out, out
