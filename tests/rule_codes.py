"""Every rule code that exists is produced by at least one test (issue 13).

The catalogue is `rems.domain.catalogue.CODES`: every rule code is a named constant there, and
tests/unit/test_catalogue.py fails for a code spelled anywhere else in rems/ or workflows/. A code is
"produced" when a test run builds an unmet Requirement with
it (the gate, machine conditions, services). When the whole suite runs and passes, a code that no
test produced fails the run, listed by name. Each xdist worker writes what it saw to a file; the
controller adds them up.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rems.domain import catalogue as rules
from rems.domain import requirements

ROOT = Path(__file__).resolve().parents[1]
SEEN: set[str] = set()
# Codes that stand for a safeguard that holds (the patient-state requirement when active, an
# administrator's recorded correction): produced when built met.
MET_ONLY = rules.MET_ONLY
_ENV = "REMS_RULE_CODES_DIR"


def catalogue() -> set[str]:
    """Every rule code that exists: the constants of rems/domain/catalogue.py."""
    return set(rules.CODES)


def _install() -> None:
    original = requirements.Requirement.__init__

    def recording(self: requirements.Requirement, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        if not self.met or self.code in MET_ONLY:
            SEEN.add(self.code)

    requirements.Requirement.__init__ = recording  # type: ignore[method-assign]


def pytest_configure(config: pytest.Config) -> None:
    _install()
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist)
        cache = getattr(config, "cache", None)  # absent under -p no:cacheprovider
        directory = Path(cache.mkdir("rule_codes")) if cache else ROOT / ".pytest_cache" / "rule_codes"
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.json"):
            stale.unlink()
        os.environ[_ENV] = str(directory)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    directory = Path(os.environ.get(_ENV, ROOT / ".pytest_cache" / "rule_codes"))
    worker = getattr(session.config, "workerinput", {}).get("workerid", "main")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{worker}.json").write_text(json.dumps(sorted(SEEN)))
    if hasattr(session.config, "workerinput") or exitstatus != 0 or not _whole_suite(session):
        return
    seen = set().union(*(set(json.loads(p.read_text())) for p in directory.glob("*.json")))
    missing = sorted(catalogue() - seen)
    if missing:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = f"rule codes that no test produced ({len(missing)}): {', '.join(missing)}"
        if reporter is not None:
            reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _whole_suite(session: pytest.Session) -> bool:
    """Only a run of the whole suite (no file, -k or -m selection) can say a code is never produced."""
    options = session.config.option
    args = [Path(a).resolve() for a in session.config.args]
    return not options.keyword and not options.markexpr and args in ([ROOT / "tests"], [ROOT])
