"""`rems notifications worker|beat|sweep`: the Celery worker, the beat scheduler and one sweep, run
from the `rems` command (docs/workers.md).

Issue 19 item 4 (workers -> rems -> workflows): rems.cli imports nothing of `workers`; it finds
`register` in the "rems.commands" entry point group of pyproject.toml when the command line names
the group, and hands it the group and the CLI's `emit`. Imports stay light: each command loads
Celery when it runs, as the other commands load their services."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer


def worker() -> None:
    """Run a Celery worker (REMS_BROKER_URL; `celery -A workers.app worker` is the same)."""
    from workers.app import app
    app.worker_main(["worker", "--loglevel=INFO", "--queues=rems"])


def beat() -> None:
    """Run the beat scheduler (one at a time: a Redis lock via celery-redbeat on a Redis broker)."""
    from workers.app import app
    Path(app.conf.beat_schedule_filename).parent.mkdir(parents=True, exist_ok=True)
    app.start(["beat", "--loglevel=INFO"])


def register(notifications: typer.Typer, emit: Callable[[Any], None]) -> None:
    """Add `worker`, `beat` and `sweep` to `rems notifications` (rems.cli.main.extend)."""

    def sweep() -> None:
        """Run the sweep once, here: expire, record due reminders, hand them to the broker."""
        from workers.runtime import runtime
        from workers.tasks import publisher, sweep_body
        with publisher() as publish:
            emit(sweep_body(runtime(), publish))

    notifications.command("worker")(worker)
    notifications.command("beat")(beat)
    notifications.command("sweep")(sweep)
