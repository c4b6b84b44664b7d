"""CLI usage errors (issue 15): each kind exits 2 and names what is wrong, never "internal error"
(typer vendors its own click, so its exceptions are not click's)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rems.cli.main import run


@pytest.mark.parametrize(("args", "named"), [
    (["prescriber", "enroll", "--npi", "1234567893"], "--name"),  # a missing option
    (["prescriber", "enroll", "--bogus"], "--bogus"),  # an unknown option
    (["rx", "request", "pat_1", "--prescriber", "prs_1", "--days-supply", "abc", "--quantity", "1"],
     "--days-supply"),  # a bad type
    (["nosuchcommand"], "nosuchcommand"),  # an unknown command
    (["check", "POM-1", "--json"], "--json"),  # a global option after the command
])
def test_a_usage_error_exits_2_naming_the_option(args: list[str], named: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("REMS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setattr(sys, "argv", ["rems", *args])
    with pytest.raises(SystemExit) as done:
        run()
    out = capsys.readouterr()
    assert done.value.code == 2, out
    assert named in out.err and "internal error" not in out.err + out.out
    assert not (tmp_path / "cli.db").exists()  # nothing was opened, nothing written
