"""The prescriber's needs-action list: `python -m benchmarks.needs_action --patients 800` (issue 18).

Seeds a new SQLite file through the services, 19 days back: four prescribers, `--patients` male
patients each dispensed 28 days of supply, so every one's survey (R20) is due in 2 days (R28
reopens on day 21); then prints the CPU time (`time.process_time`, best of 5) and the statements of
`web_queries.due_now` (the reminders' finders, narrowed to one prescriber) and of the whole list."""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event

from rems.adapters.uow import UnitOfWork
from rems.bootstrap import bootstrap
from rems.services.commands import RecordDispense, parse
from rems.services.context import Context
from rems.services.dispensing import prescriptions
from rems.services.views import web_queries
from rems.settings import Settings
from tests.api.world import World

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=200)
    args = parser.parse_args()
    app = bootstrap(Settings(env="test", database_url=f"sqlite:///{tempfile.mkdtemp()}/needs.db"))
    app.migrate()
    w = World(app, lambda: NOW - timedelta(days=19)).cast()
    others = [w.prescriber() for _ in range(3)]
    for i in range(args.patients):
        doc = w.doc if i % 4 == 0 else others[i % 3]
        patient = w.patient(doc, "adult_male")
        _, number = w.authorization(patient, doc)
        w.call(prescriptions.record_dispense, parse(
            RecordDispense, confirmation_number=w.confirmation(number, w.pharm), pharmacy_id=w.pharm,
            counselled=True, education_checklist_completed=True, medication_guide_given=True))
    statements = [0]

    def count(*_: Any) -> None:
        statements[0] += 1

    event.listen(app.engine, "before_cursor_execute", count)
    runs: dict[str, Callable[[UnitOfWork, Context], Any]] = {
        "due_now": lambda uow, ctx: web_queries.due_now(uow, ctx, w.doc, 3, 7),
        "needs_action": lambda uow, ctx: web_queries.needs_action(uow, ctx, w.doc, 3, web_queries.Paging(), 7)}
    for name, run in runs.items():
        best = float("inf")
        for _ in range(5):
            statements[0] = 0
            with app.uow() as uow:
                start = time.process_time()
                run(uow, Context("bench", NOW))
                best = min(best, time.process_time() - start)
        print(f"{name}: {args.patients} patients due, {best * 1000:.1f} ms CPU, {statements[0]} statements")


if __name__ == "__main__":
    main()
