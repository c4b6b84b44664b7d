"""A walk-through of one FRP patient through the CLI, from enrollment to a dispense (make demo).

Each step runs the real `rems` entry point (its parsing, error mapping and exit codes) in this
process, and prints it with its output, so what the reader sees is exactly what a user would type
and get; one process, one database engine, instead of a process per step (issue 15 item 11).
"""

from __future__ import annotations

import io
import json
import os
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rems.bootstrap import App

_EXPECTED_REFUSAL, _BAD_INPUT = 3, 2


@cache
def _app(database_url: str) -> App:
    from rems.bootstrap import bootstrap
    from rems.settings import Settings
    return bootstrap(Settings(database_url=database_url))


def _invoke(database_url: str, args: list[str]) -> tuple[int, str, str]:
    """`rems ARGS` on the demo's database: exit code, stdout, stderr."""
    from rems.cli.main import run
    from rems.cli.output import state
    out, err, saved = io.StringIO(), io.StringIO(), state.app
    state.app = _app(database_url)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                run(args)
                code = 0
            except SystemExit as done:
                code = done.code if isinstance(done.code, int) else 1
    finally:
        state.app = saved
    return code, out.getvalue(), err.getvalue()


def _run(env: dict[str, str], *args: str, expect: int = 0, quiet: bool = False) -> Any:
    shown = " ".join(a if " " not in a else repr(a) for a in args)
    code, stdout, stderr = _invoke(env["REMS_DATABASE_URL"], list(args))
    if not quiet:
        print(f"\n$ rems {shown}")
        print((stdout + stderr).rstrip())
        print(f"(exit {code})")
    if code != expect:
        raise SystemExit(f"demo step failed: rems {shown} exited {code}, expected {expect}")
    if "--json" in args and stdout.strip():
        return json.loads(stdout)
    return None


def _latest(env: dict[str, str], patient: str) -> dict[str, Any]:
    prescriptions: list[dict[str, Any]] = _run(env, "--json", "status", patient, quiet=True)["prescriptions"]
    return prescriptions[-1]


def walk(database: Path) -> None:
    database.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    env = {**os.environ, "REMS_DATABASE_URL": f"sqlite:///{database.resolve()}"}
    now = datetime.now(UTC)

    def iso(delta: timedelta) -> str:
        return (now - delta).isoformat(timespec="seconds")
    print("== rems demo: an adult female of reproductive potential on pomalidomide ==")
    _run(env, "init")
    doc = _run(env, "--json", "prescriber", "enroll", "--name", "Dr Ada Byron", "--npi", "1000000004",
               "--attested", "--education-reviewed", quiet=True)["id"]
    pharm = _run(env, "--json", "pharmacy", "enroll", "--name", "Specialty Pharmacy One",
                 "--ncpdp-id", "1000001", "--representative-enrolled", "--staff-trained",
                 "--records-and-audits-accepted", quiet=True)["id"]
    print(f"\n# prescriber {doc} and pharmacy {pharm} are enrolled but not yet certified;"
          "\n# certification is per program (R1, R25): without --program the CLI refuses (several loaded)")
    _run(env, "--actor", "admin", "prescriber", "certify", doc, expect=_BAD_INPUT)
    _run(env, "--actor", "admin", "prescriber", "certify", doc, "--program", "pomalidomide")
    _run(env, "--actor", "admin", "pharmacy", "certify", pharm, "--program", "pomalidomide")
    _run(env, "prescriber", "show", doc)
    print("\n# The prescriber enrolls the patient with a PPAF for her risk category (R5)")
    patient = _run(env, "--json", "--actor", doc, "patient", "enroll", "--prescriber", doc,
                   "--name", "Demo Patient", "--sex", "female", "--birth-date", "1988-04-12",
                   "--category", "adult_frp", "--no-menarche", "--no-hysterectomy",
                   "--no-oophorectomy", "--postmenopausal-since", "none")["id"]  # R35: every fact
    print(f"(patient {patient})")
    print("\n# Asking for an authorization now: the gate names every missing step")
    _run(env, "--actor", doc, "rx", "request", patient, "--prescriber", doc,
         "--days-supply", "28", "--quantity", "21", expect=_EXPECTED_REFUSAL)
    _run(env, "--actor", doc, "rx", "void", _latest(env, patient)["id"], quiet=True)
    print("\n# Two negative tests (R9): 12 days ago and 3 hours ago; the patient survey (R20)")
    _run(env, "--actor", doc, "test", "record", patient, "--result", "negative", "--sensitivity", "100",
         "--collected-at", iso(timedelta(days=12)))
    _run(env, "--actor", doc, "test", "record", patient, "--result", "negative", "--sensitivity", "100",
         "--collected-at", iso(timedelta(hours=3)))
    print("\n# Those tests only detect hCG from 100 mIU/mL; R10 needs a sensitivity of 50 or better")
    _run(env, "--actor", doc, "rx", "request", patient, "--prescriber", doc,
         "--days-supply", "28", "--quantity", "21", "--contraception-attested", expect=_EXPECTED_REFUSAL)
    _run(env, "--actor", doc, "rx", "void", _latest(env, patient)["id"])
    _run(env, "--actor", doc, "test", "record", patient, "--result", "negative", "--sensitivity", "25",
         "--collected-at", iso(timedelta(days=12)))
    _run(env, "--actor", doc, "test", "record", patient, "--result", "negative", "--sensitivity", "25",
         "--collected-at", iso(timedelta(hours=3)))
    _run(env, "--actor", patient, "survey", "patient", patient)
    print("\n# Now only the prescriber survey for this prescription is missing (R19)")
    _run(env, "--actor", doc, "rx", "request", patient, "--prescriber", doc,
         "--days-supply", "28", "--quantity", "21", "--contraception-attested", expect=_EXPECTED_REFUSAL)
    rx = _latest(env, patient)["id"]
    _run(env, "--actor", doc, "survey", "prescriber", rx, "--prescriber", doc)
    number = _latest(env, patient)["number"]
    print("\n# At the pharmacy: the check, a confirmation number (R26), then the dispense")
    _run(env, "--actor", pharm, "check", number, "--pharmacy", pharm, "--patient", patient)
    confirmation = _run(env, "--json", "--actor", pharm, "confirm", number, "--pharmacy", pharm)["number"]
    print(f"(confirmation {confirmation})")
    print("\n# Without the counselling checklist the dispense is refused (R29)")
    _run(env, "--actor", pharm, "dispense", confirmation, "--pharmacy", pharm, "--counselled",
         "--medication-guide", expect=_EXPECTED_REFUSAL)
    _run(env, "--actor", pharm, "dispense", confirmation, "--pharmacy", pharm, "--counselled",
         "--checklist", "--medication-guide")
    print("\n# The same authorization cannot be dispensed twice (R33)")
    _run(env, "--actor", pharm, "dispense", confirmation, "--pharmacy", pharm, "--counselled",
         "--checklist", "--medication-guide", expect=_EXPECTED_REFUSAL)
    print("\n# Where the patient stands now, and the audit trail of the prescription")
    _run(env, "status", patient)
    _run(env, "audit", "show", "prescription", rx)
    _run(env, "audit", "verify")
    print(f"\n== demo complete; database: {database} ==")
