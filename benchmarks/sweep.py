"""Item 4: the reminder sweep at growing populations with the same number due, and the delivery
rate of reminders through a real Celery worker on a real Redis.

The population is `due` patients with a reminder due in the sweep's window (a survey, a test, a
refill window) plus quiet patients mid-cycle (nothing due in the window, but a history the
window queries must step over). The first quiet patients are seeded like every other population
(benchmarks/seed.py); the population then grows by copying quiet patients with their history
(INSERT ... SELECT with suffixed ids; their audit rows are not copied, the sweep reads none), so a
million patients take seconds, and the due set never changes.

At each size: the production sweep (`expire_due`, then `sweep_reminders`: find and record in one
transaction) and the relay (`notifications.to_enqueue`, published to Redis as the worker does),
run back to back until nothing is left to publish. Then one Celery worker process (solo pool)
delivers what the last size published through the outbox channel (no SMTP or webhook configured).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, inspect, select, text

from benchmarks import databases, seed
from benchmarks.report import Row
from benchmarks.server import ROOT, free_port, rss_kib
from rems.adapters import orm
from rems.bootstrap import App, bootstrap
from rems.services.context import Context
from rems.services.reminders import notifications
from rems.services.reminders.reminders import Window, find_due, sweep_reminders
from rems.services.reminders.sweeps import expire_due
from rems.settings import Settings

GOAL_SWEEP_S = 5.0
GOAL_DELIVERY = 500.0
DELIVERY_S = 60.0  # the delivery rate is taken over at most this long (from the first to the last send)
TEMPLATE = 10_000  # quiet patients seeded one by one; the rest are copies
# What a quiet patient's rows are, in foreign-key order: the table and how to find its rows.
# R34: each copy is another person (its own identity: the suffix goes on the name key too).
CLONED = (("persons", "id IN (SELECT person_id FROM patients WHERE id IN (SELECT patient_id FROM bench_pick))"),
          ("patients", "id IN (SELECT patient_id FROM bench_pick)"),
          # Issue 14 item 6 (migration 0014): kept by triggers, which the PostgreSQL copy skips
          # (replica role); copied before the history, so SQLite's triggers find it there.
          ("patient_latest", "patient_id IN (SELECT patient_id FROM bench_pick)"),
          ("ppafs", "patient_id IN (SELECT patient_id FROM bench_pick)"),
          ("pregnancy_tests", "patient_id IN (SELECT patient_id FROM bench_pick)"),
          ("patient_surveys", "patient_id IN (SELECT patient_id FROM bench_pick)"),
          ("prescriptions", "patient_id IN (SELECT patient_id FROM bench_pick)"),
          ("prescriber_surveys", "prescription_id IN (SELECT id FROM prescriptions WHERE patient_id IN "
                                 "(SELECT patient_id FROM bench_pick))"),
          ("confirmations", "prescription_id IN (SELECT id FROM prescriptions WHERE patient_id IN "
                            "(SELECT patient_id FROM bench_pick))"),
          ("dispenses", "patient_id IN (SELECT patient_id FROM bench_pick)"))
SUFFIXED = frozenset({"id", "patient_id", "prescription_id", "confirmation_id", "qualifying_test_id", "number",
                      "person_id", "name_key"})


class Grower:
    """Grows the quiet part of the population: seeded first, then copied."""

    def __init__(self, engine: Engine, population: seed.Population) -> None:
        self.engine, self.population = engine, population
        self.quiet, self.generation, self.seeded = 0, 0, False
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE bench_quiet (patient_id VARCHAR(40) PRIMARY KEY)"))
            connection.execute(text("CREATE TABLE bench_pick (patient_id VARCHAR(40) PRIMARY KEY)"))
            connection.execute(text("CREATE TABLE bench_suffix (sfx VARCHAR(8) PRIMARY KEY)"))
        self.columns = {table: [c["name"] for c in inspect(engine).get_columns(table)] for table, _ in CLONED}

    def grow_to(self, quiet: int, due: int) -> None:
        """`due` patients (seeded once) and `quiet` quiet ones in all."""
        if not self.seeded or (self.quiet == 0 and quiet > 0):
            first = min(quiet, TEMPLATE)
            ids = self.population.sweep_patients(0 if self.seeded else due, first)
            self.seeded = True
            with self.engine.begin() as connection:
                for start in range(0, len(ids), 5000):
                    connection.execute(text("INSERT INTO bench_quiet (patient_id) VALUES (:p)"),
                                       [{"p": i} for i in ids[start:start + 5000]])
            self.quiet = first
        while self.quiet < quiet:
            copies = (quiet - self.quiet) // self.quiet
            if copies:  # every quiet patient, `copies` times, in one pass over each table
                self.quiet += self._copy(self.quiet, copies)
            else:
                self.quiet += self._copy(quiet - self.quiet, 1)

    def _copy(self, n: int, copies: int) -> int:
        self.generation += 1
        suffixes = [{"s": f"~{self.generation}.{j}" if copies > 1 else f"~{self.generation}"}
                    for j in range(copies)]
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # The copies are consistent by construction: skip the foreign-key triggers, which
                # otherwise cost four index probes per copied row (the run's own superuser).
                connection.execute(text("SET LOCAL session_replication_role = replica"))
            connection.execute(text("DELETE FROM bench_pick"))
            connection.execute(text("DELETE FROM bench_suffix"))
            connection.execute(text("INSERT INTO bench_suffix (sfx) VALUES (:s)"), suffixes)
            connection.execute(text("INSERT INTO bench_pick SELECT patient_id FROM bench_quiet "
                                    "ORDER BY patient_id LIMIT :n"), {"n": n})
            for table, where in CLONED:
                columns = self.columns[table]
                values = ", ".join(f"{c} || x.sfx" if c in SUFFIXED else c for c in columns)
                statement = (f"INSERT INTO {table} ({', '.join(columns)}) SELECT {values} "  # noqa: S608
                             f"FROM {table} CROSS JOIN bench_suffix x WHERE {where}")  # our own names
                connection.execute(text(statement))
            connection.execute(text("INSERT INTO bench_quiet SELECT p.patient_id || x.sfx "
                                    "FROM bench_pick p CROSS JOIN bench_suffix x"))
        return n * copies


def _listening(process: subprocess.Popen[bytes], port: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


@contextmanager
def redis_server(workdir: Path) -> Iterator[str | None]:
    """A throwaway redis-server (append-only file, fsync every second, as in production)."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    directory = workdir / "redis"
    directory.mkdir(exist_ok=True)
    for _attempt in range(3):  # another process may take the port between the probe and the bind
        port = free_port()
        arguments = ["--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory), "--appendonly",
                     "yes", "--appendfsync", "everysec", "--save", "", "--maxmemory-policy", "noeviction"]
        process = subprocess.Popen([binary, *arguments],  # noqa: S603 (redis-server, our arguments)
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if _listening(process, port):
            break
        process.kill()
        process.wait()
    else:
        raise SystemExit("redis-server did not start")
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _purge(broker: str | None) -> None:
    """Empty the queue: the previous size's messages name notifications deleted since."""
    if broker is not None:
        import redis
        redis.Redis.from_url(broker).delete("rems")


def _publisher(broker: str | None, due: int) -> Callable[[list[str]], None]:
    """Publish a relay batch exactly as the `rems.relay` task does (workers.tasks.publisher: one
    producer, pipelined, one `rems.send_notifications` task per REMS_NOTIFY_BATCH_SIZE ids), on
    this run's Redis."""
    if broker is None:
        return lambda _: None
    os.environ["REMS_BROKER_URL"] = broker  # workers.app reads its settings when first used
    from workers.tasks import publisher

    # The production batch size; a run too small for ten batches (--quick) uses smaller ones, so
    # the delivery rate still has batches to time (their outcomes share one sent_at each).
    size = min(Settings().notify_batch_size, max(1, due // 10))

    def publish(notification_ids: list[str]) -> None:
        with publisher() as send:  # one task per batch, as relay_body publishes
            for start in range(0, len(notification_ids), size):
                send(notification_ids[start:start + size])
    return publish


def _timed(step: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    out = step()
    return out, time.perf_counter() - started


def _cpu_timed(step: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, wall seconds, this process's CPU seconds): on a shared machine the wall time
    includes waiting for a core; the CPU time is what the sweep itself spent (PostgreSQL's own
    work is in the wall time only)."""
    cpu = time.process_time()
    out, wall = _timed(step)
    return out, wall, time.process_time() - cpu


def sweep_once(app: App, settings: Settings, publish: Callable[[list[str]], None]) -> dict[str, Any]:
    """The production sweep at the wall clock, then the relay until nothing is left; timed."""
    lead, back = settings.reminder_lead_days, settings.reminder_lookback_days
    ctx = Context("worker:sweep", datetime.now(UTC))
    with app.engine.begin() as connection:
        connection.execute(orm.notifications.delete())
    with app.uow() as uow:
        found, find_s, find_cpu_s = _cpu_timed(lambda: len(find_due(uow, Window(ctx.now, lead, back))))
    with app.uow() as uow:
        expired, expire_s = _timed(lambda: expire_due(uow, ctx))
    with app.uow() as uow:
        counts, sweep_s = _timed(lambda: sweep_reminders(uow, ctx, lead, back, frozenset({"outbox"})))
    policy = notifications.Policy()

    def relay() -> int:
        sent = 0
        while True:
            with app.uow() as uow:
                ready = notifications.to_enqueue(uow, Context("worker:relay", datetime.now(UTC)), policy)
            publish(ready)
            sent += len(ready)
            if not ready:
                return sent
    enqueued, enqueue_s = _timed(relay)
    return {"found": found, "recorded": counts["recorded"], "enqueued": enqueued,
            "expired": sum(v for k, v in expired.items() if k != "skipped_busy"), "find_s": find_s,
            "find_cpu_s": find_cpu_s, "load_average": os.getloadavg()[0],
            "expire_s": expire_s, "sweep_s": sweep_s, "enqueue_s": enqueue_s,
            "total_s": expire_s + sweep_s + enqueue_s, "kinds": {k: v for k, v in counts.items()
                                                              if k not in ("found", "recorded")}}


def deliver(url: str, broker: str, expected: int, engine: Engine, workdir: Path,
            timeout: float) -> dict[str, Any]:
    """One Celery worker process (solo pool) sends what the relay published; rate from sent_at."""
    env = {**os.environ, "REMS_DATABASE_URL": url, "REMS_BROKER_URL": broker, "REMS_ENV": "development",
           "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "--pool", "solo", "-Q", "rems",
               "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    n = orm.notifications.c
    with (workdir / "celery.log").open("ab") as log:
        worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,  # noqa: S603 (our command)
                                  stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        sent = 0
        while time.monotonic() < deadline and worker.poll() is None:
            with engine.connect() as connection:
                sent = connection.execute(select(func.count()).where(n.state == "sent")).scalar_one()
            if sent >= expected:
                break
            time.sleep(0.5)
        memory = rss_kib(worker.pid) if worker.poll() is None else {}
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    with engine.connect() as connection:
        first, last, count = connection.execute(select(func.min(n.sent_at), func.max(n.sent_at), func.count())
                                                .where(n.state == "sent")).one()
        # A batch's outcomes share one sent_at (one commit per batch): the rate is what was sent
        # after the first batch's instant over the span from it to the last one.
        after_first = connection.execute(select(func.count()).where(
            n.state == "sent", n.sent_at > first)).scalar_one() if count else 0
    span = (last - first).total_seconds() if count > 1 else 0.0
    return {"sent": count, "expected": expected, "seconds": span,
            "per_second": after_first / span if span and after_first else None, "memory": memory,
            "log": (workdir / "celery.log").read_text(errors="replace")[-1500:] if count < expected else ""}


def measure(kind: str, sizes: list[int], due: int, workdir: Path,
            delivery: bool) -> tuple[list[Row], list[dict[str, Any]], dict[str, Any]]:
    if any(size < due for size in sizes):
        raise SystemExit(f"every sweep size must be at least --due ({due})")
    rows: list[Row] = []
    points: list[dict[str, Any]] = []
    details: dict[str, Any] = {}
    settings = Settings(env="development")
    sub = workdir / f"sweep-{kind}"
    sub.mkdir(exist_ok=True)
    with databases.database(kind, sub) as url, redis_server(sub) as broker:
        app = bootstrap(Settings(env="development", database_url=url))
        app.migrate()
        population = seed.Population(app.engine, app.programs["pomalidomide"].at(datetime.now(UTC)),
                                     seed.Plan(patients=max(sizes)), datetime.now(UTC).replace(microsecond=0))
        population.actors()
        grower = Grower(app.engine, population)
        publish = _publisher(broker, due)
        for size in sorted(sizes):
            _, grow_s = _timed(lambda size=size: grower.grow_to(size - due, due))  # type: ignore[misc]
            databases.analyze(url)
            with app.engine.connect() as connection:
                patients = connection.execute(select(func.count()).select_from(orm.patients)).scalar_one()
            _purge(broker)
            point = {"size": size, "patients": patients, "grow_s": grow_s, **sweep_once(app, settings, publish)}
            points.append(point)
            print(f"    {patients:,} patients (grown in {grow_s:.1f} s): {point['found']} due, sweep "
                  f"{point['total_s']:.2f} s (find {point['find_s']:.2f}, of it {point['find_cpu_s']:.2f} s CPU here; "
                  f"load {point['load_average']:.1f}; expire {point['expire_s']:.2f}, "
                  f"find + record {point['sweep_s']:.2f}, enqueue {point['enqueue_s']:.2f})", file=sys.stderr)
            met = point["total_s"] < GOAL_SWEEP_S if size == max(sizes) else None
            rows.append(Row("4", f"reminder sweep, {patients:,} patients: expire + find + record + enqueue",
                            kind, point["total_s"], "s", ratio=None,
                            goal=f"< {GOAL_SWEEP_S:.0f} s, flat in population" if met is not None else "",
                            met=met, note=f"{point['found']} due, {point['enqueued']} enqueued; find "
                                          f"{point['find_s']:.2f} s, record {point['sweep_s']:.2f} s, "
                                          f"enqueue {point['enqueue_s']:.2f} s",
                            raw=point))
        if delivery and broker and points:
            sent = deliver(url, broker, points[-1]["enqueued"], app.engine, sub, timeout=DELIVERY_S)
            details["delivery"] = sent
            rate = sent["per_second"]
            rows.append(Row("4", "reminders delivered by 1 Celery worker process (outbox channel)", kind, rate,
                            "reminders/s", goal=f"≥ {GOAL_DELIVERY:.0f}/s per process",
                            met=None if rate is None else rate >= GOAL_DELIVERY,
                            note=f"{sent['sent']} of {sent['expected']} in {sent['seconds']:.1f} s, Redis",
                            raw=sent))
            if sent["memory"]:
                rows.append(Row("5", "Celery worker resident size after the run", kind,
                                sent["memory"]["VmRSS"] / 1024, "MiB",
                                note=f"peak {sent['memory']['VmHWM'] / 1024:.0f} MiB", raw=sent["memory"]))
        elif delivery:
            rows.append(Row("4", "reminders delivered through Celery", kind,
                            unit="not measured: redis-server is not installed"))
        app.engine.dispose()
    return rows, points, details


def explain(size: int, due: int, workdir: Path) -> None:
    """Issue 14 item 6: grow a PostgreSQL population to `size`, then time each finder and print
    the plan (EXPLAIN ANALYZE, BUFFERS) of every statement it ran, slowest first."""
    from sqlalchemy import event

    from rems.services.reminders.reminders import finders
    with databases.database("postgresql", workdir) as url:
        app = bootstrap(Settings(env="development", database_url=url))
        app.migrate()
        now = datetime.now(UTC).replace(microsecond=0)
        population = seed.Population(app.engine, app.programs["pomalidomide"].at(now), seed.Plan(patients=size), now)
        population.actors()
        _, grow_s = _timed(lambda: Grower(app.engine, population).grow_to(size - due, due))
        databases.analyze(url)
        print(f"{size:,} patients grown in {grow_s:.1f} s", file=sys.stderr)
        settings = Settings(env="development")
        window = Window(datetime.now(UTC), settings.reminder_lead_days, settings.reminder_lookback_days)
        statements: list[tuple[str, str, Any, float]] = []
        current = [""]

        def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
            conn.info["started"] = time.perf_counter()

        def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
            statements.append((current[0], statement, parameters, time.perf_counter() - conn.info["started"]))
        event.listen(app.engine, "before_cursor_execute", before)
        event.listen(app.engine, "after_cursor_execute", after)
        for find in finders():
            current[0] = find.__name__
            with app.uow() as uow:
                uow.session.execute(text("SET LOCAL jit = off"))  # as find_due does
                found, seconds = _timed(lambda find=find, uow=uow: len(find(uow, window)))  # type: ignore[misc]
            print(f"  {find.__name__}: {found} due in {seconds:.3f} s", file=sys.stderr)
        event.remove(app.engine, "before_cursor_execute", before)
        event.remove(app.engine, "after_cursor_execute", after)
        for name, statement, parameters, seconds in sorted(statements, key=lambda s: -s[3])[:12]:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            with app.engine.connect() as connection:
                connection.exec_driver_sql("SET jit = off")
                plan = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters).all()
            print(f"\n== {name}: {seconds * 1000:.0f} ms\n{statement[:600]}\n" + "\n".join(r[0] for r in plan))
        app.engine.dispose()


if __name__ == "__main__":
    import argparse
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sweep", description=explain.__doc__)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=10_000)
    arguments = parser.parse_args()
    import tempfile
    explain(arguments.size, arguments.due, Path(tempfile.mkdtemp(prefix="rems-sweep-explain-")))
