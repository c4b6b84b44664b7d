"""`rems --help` loads no database, web or queue code (issue 15 item 11): each command imports its
services when it runs. The time itself is measured by hand (`time .venv/bin/rems --help`), never here."""

from __future__ import annotations

import subprocess
import sys

from rems.cli import actors, patients
from rems.services.enrollment import certification
from rems.services.enrollment import patients as patient_services

# Not pydantic: typer itself loads it to coerce a command's options.
HEAVY = ("sqlalchemy", "fastapi", "celery", "alembic", "matplotlib", "rems.services",
         "rems.bootstrap", "rems.api", "rich")

PROBE = f"""
import sys
from rems.cli.main import run
try:
    run(sys.argv[1:])
except SystemExit as done:
    assert done.code == 0, done.code
heavy = {HEAVY!r}
print("loaded:" + ",".join(sorted(name for name in sys.modules if name.startswith(heavy))))
"""


def loaded_by(*args: str) -> list[str]:
    """The heavy modules loaded by `rems ARGS`, in a fresh interpreter."""
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return [name for name in done.stdout.rsplit("loaded:", 1)[1].strip().split(",") if name]


def test_rems_help_loads_no_database_web_or_queue_code() -> None:
    assert loaded_by("--help") == []


def test_a_group_s_help_loads_none_either() -> None:
    assert loaded_by("patient", "enroll", "--help") == []


def test_the_cli_s_trigger_lists_are_the_services_own() -> None:
    assert actors.TRIGGERS == certification.TRIGGERS
    assert patients.STATE_TRIGGERS == patient_services.STATE_TRIGGERS
