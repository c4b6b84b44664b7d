"""`rems rx request --ndc` (issue 17 item 7): an NDC in none of the FDA's forms is bad input naming
`ndc` (exit 2), before any record is read or written."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rems.cli.main import run


@pytest.mark.parametrize("ndc", ["5957222016", "59572-22-016", "ndc"])  # 10 bare digits, no FDA shape
def test_a_malformed_ndc_exits_2_naming_ndc(ndc: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("REMS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setattr(sys, "argv", ["rems", "rx", "request", "pat_1", "--prescriber", "prs_1",
                                      "--days-supply", "28", "--quantity", "56", "--ndc", ndc])
    with pytest.raises(SystemExit) as done:
        run()
    out = capsys.readouterr()
    assert done.value.code == 2, out
    assert "ndc: must be an NDC" in out.err and "Traceback" not in out.err + out.out
