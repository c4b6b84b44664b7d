"""`rems notifications worker|beat|sweep` are there in a fresh process (issue 19 item 4): they live in
workers/cli.py and reach the `rems` command through pyproject.toml's "rems.commands" entry point
group (the editable install of `make install` provides it), so rems.cli imports nothing of workers.
Command names and help texts: docs/workers.md."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REMS = Path(sys.executable).with_name("rems")


def rems(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REMS), *args], capture_output=True, text=True, timeout=60, check=False)


def test_the_workers_commands_are_declared_as_an_entry_point_of_the_notifications_group() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["entry-points"]
    assert declared["rems.commands"] == {"notifications": "workers.cli:register"}


def test_rems_notifications_lists_worker_beat_and_sweep_beside_its_own_commands() -> None:
    done = rems("notifications", "--help")
    assert done.returncode == 0, done.stderr
    commands = {line.split()[0] for line in done.stdout.split("Commands:", 1)[1].splitlines() if line.strip()}
    assert commands == {"list", "parked", "retry", "contact", "ready", "worker", "beat", "sweep"}


def test_each_workers_command_answers_its_help_with_the_text_docs_workers_md_gives() -> None:
    for command, text in (("worker", "Run a Celery worker"), ("beat", "Run the beat scheduler"),
                          ("sweep", "Run the sweep once, here")):
        done = rems("notifications", command, "--help")
        assert done.returncode == 0, (command, done.stderr)
        assert text in " ".join(done.stdout.split()), command


def test_rems_help_looks_up_no_entry_point() -> None:
    # The look-up (importlib.metadata) is for the groups a command line names, not every start-up.
    probe = ("import sys\nfrom rems.cli.main import run\ntry:\n    run(['--help'])\nexcept SystemExit:\n"
             "    pass\nprint('importlib.metadata' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout.strip().splitlines()[-1] == "False", done.stdout + done.stderr
