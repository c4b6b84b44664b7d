"""Issue 14 item 3, in process: confirmations and dispenses through the services, by concurrent
threads, against a truly bare durable write (SQLAlchemy Core, one INSERT and its commit, no project
code) on the same database, interleaved A B A B over rounds. No HTTP, so the figures isolate the
write path (locks, gate reads, audit, commit) from the server and the load generator.

    .venv/bin/python -m benchmarks.writes --databases sqlite,postgresql

`--profile`: one thread instead, and what one write costs: the statements it runs (counted by an
event listener, listed for the first write), the CPU time of the writing thread per part (the
parts wrapped for the run only) and of the other threads (the audit sealer), against the truly
bare write's CPU in the same run. CPU time, not wall time: the load of a shared machine disturbs it
least (the load average is printed).

Figures on a shared machine are indicative only; compare runs taken side by side.
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, insert

from benchmarks import bare, databases, seed
from rems.adapters.sqlite_writers import WriterQueue
from rems.bootstrap import bootstrap
from rems.services.commands import PharmacyRequest, RecordDispense, parse
from rems.services.context import Context
from rems.services.dispensing import optimistic, prescriptions
from rems.settings import Settings


def _run(threads: int, work: list[Any], one: Callable[[Any], None], seconds: float) -> dict[str, float]:
    """`one(item)` from `threads` threads until the work or the time runs out: rate and latencies."""
    todo: queue.SimpleQueue[Any] = queue.SimpleQueue()
    for item in work:
        todo.put(item)
    latencies: list[float] = []
    errors = [0]
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        while time.perf_counter() < deadline:
            try:
                item = todo.get_nowait()
            except queue.Empty:
                return
            started = time.perf_counter()
            try:
                one(item)
            except Exception:
                errors[0] += 1
                continue
            latencies.append(time.perf_counter() - started)

    HELD.clear()
    began = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    spent = time.perf_counter() - began
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0.0
    held = sorted(HELD)
    return {"per_s": len(latencies) / spent if spent else 0.0, "n": len(latencies), "errors": errors[0],
            "held_ms": 1000 * statistics.median(held) if held else 0.0,
            "p50_ms": 1000 * statistics.median(latencies) if latencies else 0.0, "p99_ms": 1000 * p99}


HELD: list[float] = []  # seconds each SQLite write transaction of this process held the write lock


def _time_the_write_lock() -> None:
    """Record how long each writer holds SQLite's write lock (WriterQueue enter -> leave)."""
    started: dict[int, float] = {}
    enter, leave = WriterQueue.enter, WriterQueue.leave

    def timed_enter(self: WriterQueue, dbapi_connection: Any) -> None:
        enter(self, dbapi_connection)
        started[id(dbapi_connection)] = time.perf_counter()

    def timed_leave(self: WriterQueue, dbapi_connection: Any) -> None:
        began = started.pop(id(dbapi_connection), None)
        if began is not None:
            HELD.append(time.perf_counter() - began)
        leave(self, dbapi_connection)
    WriterQueue.enter, WriterQueue.leave = timed_enter, timed_leave  # type: ignore[method-assign]


@contextmanager
def _decided_under_lock(locked: bool) -> Iterator[None]:
    """`locked`: the optimistic path off (every decision under SQLite's write lock, as before)."""
    saved = optimistic.confirmation, optimistic.dispense
    if locked:
        optimistic.confirmation = optimistic.dispense = lambda *_args: None  # type: ignore[assignment]
    try:
        yield
    finally:
        optimistic.confirmation, optimistic.dispense = saved


def measure(kind: str, workdir: Path, patients: int, rounds: int, threads: int, seconds: float,
            locked: bool = False) -> None:
    with databases.database(kind, workdir) as url:
        if kind == "sqlite":
            _time_the_write_lock()
        app = bootstrap(Settings(env="development", database_url=url))
        app.migrate()
        bare.create_table(app.engine)
        params = app.programs["pomalidomide"].at(datetime.now(UTC))
        seeded = seed.seed(app.engine, params, seed.Plan(patients=patients, writes=patients // 3))
        plain = create_engine(url, pool_size=threads, max_overflow=threads)  # no project code at all
        if kind == "sqlite":
            event.listen(plain, "connect", lambda c, _r: c.execute("PRAGMA synchronous = FULL"))
        pharmacies = seeded.pharmacies
        numbers = list(enumerate(seeded.writes))
        share = len(numbers) // rounds

        def bare_write(n: int) -> None:
            with plain.begin() as connection:
                connection.execute(insert(bare.bench_writes).values(
                    prescription_id=f"rx_{n}", actor="bench", at=datetime.now(UTC)))

        confirmed: list[tuple[str, str]] = []

        def confirm(item: tuple[int, str]) -> None:
            pharmacy = pharmacies[item[0] % len(pharmacies)]
            with app.uow() as uow:
                made = prescriptions.obtain_confirmation(uow, Context(f"pharmacy:{pharmacy}", datetime.now(UTC)),
                                                         parse(PharmacyRequest, number=item[1],
                                                               pharmacy_id=pharmacy))
            confirmed.append((made.number, pharmacy))

        def dispense(item: tuple[str, str]) -> None:
            with app.uow() as uow:
                prescriptions.record_dispense(uow, Context(f"pharmacy:{item[1]}", datetime.now(UTC)), parse(
                    RecordDispense, confirmation_number=item[0], pharmacy_id=item[1], counselled=True,
                    education_checklist_completed=True, medication_guide_given=True))

        _run(threads, list(range(200)), bare_write, 2)  # warm-up: pools, imports
        for r in range(rounds):
            results = {"bare": _run(threads, list(range(10**6)), bare_write, seconds)}
            mine = numbers[r * share:(r + 1) * share]
            # --locked: half the round's work decided under the write lock as before issue 14
            # item 3's optimistic path (rems/services/dispensing/optimistic.py), in A B / B A order by round.
            ways = ([False, True] if r % 2 == 0 else [True, False]) if locked else [False]
            for way, work in zip(ways, (mine[:len(mine) // 2], mine[len(mine) // 2:]) if locked else (mine,),
                                 strict=True):
                suffix = " locked" if way else ""
                confirmed.clear()
                with _decided_under_lock(way):
                    results["confirm" + suffix] = _run(threads, work, confirm, seconds)
                    results["dispense" + suffix] = _run(threads, list(confirmed), dispense, seconds)
            load = os.getloadavg()[0]
            for name, got in results.items():
                ratio = got["per_s"] / results["bare"]["per_s"] if results["bare"]["per_s"] else 0.0
                print(f"{kind} round {r + 1} {name:15s} {got['per_s']:8.1f}/s  p50 {got['p50_ms']:7.1f} ms  "
                      f"p99 {got['p99_ms']:8.1f} ms  n {got['n']:5.0f}  errors {got['errors']:3.0f}  "
                      f"ratio {ratio:4.2f}  lock held p50 {got['held_ms']:5.2f} ms  load {load:4.1f}", flush=True)
        if hasattr(app, "sealer"):  # absent before issue 14 item 3: the script runs on both
            app.sealer.close()
        app.engine.dispose()
        plain.dispose()


class _Parts:
    """CPU time (`time.thread_time`) of the calling thread per named part, and statement counts."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}
        self.order: list[str] = []
        self.statements = 0
        self.listing: list[str] | None = None

    def wrap(self, owner: Any, attribute: str, name: str) -> Callable[[], None]:
        original = getattr(owner, attribute)
        self.order.append(name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.cpu[name] = self.cpu.get(name, 0.0) + time.thread_time() - began
        setattr(owner, attribute, timed)
        return lambda: setattr(owner, attribute, original)

    def count(self, engine: Any) -> None:
        main = threading.main_thread()

        def seen(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if threading.current_thread() is main:
                self.statements += 1
                if self.listing is not None:
                    self.listing.append(" ".join(statement.split())[:100])
        event.listen(engine, "before_cursor_execute", seen)
        def note(name: str) -> Callable[[Any], None]:
            def noted(_connection: Any) -> None:
                if self.listing is not None and threading.current_thread() is main:
                    self.listing.append(f"[{name}]")
            return noted
        for name in ("begin", "commit", "rollback"):  # BEGIN IMMEDIATE is a statement of its own
            event.listen(engine, name, note(name))


def _wrap_parts(parts: _Parts) -> list[Callable[[], None]]:
    from sqlalchemy.orm import Session

    from rems.adapters import audit_chain, gate_reads
    from rems.adapters.uow import UnitOfWork
    from rems.domain import gate
    from rems.services.programs import program_status
    return [
        parts.wrap(optimistic, "_ahead", "snapshot: the gate's reads and decision before the write lock"),
        parts.wrap(gate_reads, "_records", "  the gate's history: statement and records (in the snapshot on SQLite)"),
        parts.wrap(gate, "evaluate", "  the gate itself (pure)"),
        parts.wrap(optimistic.Ahead, "still_holds", "under the lock: BEGIN IMMEDIATE and the fingerprint"),
        parts.wrap(UnitOfWork, "get", "ORM reads by key (PostgreSQL and the locked path)"),
        parts.wrap(program_status, "gate", "program status (its changes read)"),
        parts.wrap(program_status, "changes", "  of which reading the changes"),
        parts.wrap(prescriptions, "transition", "state machine and audit staging"),
        parts.wrap(UnitOfWork, "commit", "commit: hooks, ORM flush, COMMIT"),
        parts.wrap(audit_chain, "_write_pending", "  of which the audit entries (head look, INSERT)"),
        parts.wrap(Session, "flush", "  of which the ORM flush (INSERT, UPDATE)"),
        parts.wrap(UnitOfWork, "__exit__", "unit of work closed"),
    ]


def profile(kind: str, workdir: Path, patients: int, writes: int) -> None:
    with databases.database(kind, workdir) as url:
        app = bootstrap(Settings(env="development", database_url=url))
        app.migrate()
        bare.create_table(app.engine)
        params = app.programs["pomalidomide"].at(datetime.now(UTC))
        seeded = seed.seed(app.engine, params, seed.Plan(patients=patients, writes=writes + 20))
        plain = create_engine(url)  # no project code at all
        if kind == "sqlite":
            event.listen(plain, "connect", lambda c, _r: c.execute("PRAGMA synchronous = FULL"))
        pharmacies = seeded.pharmacies

        def confirm(item: tuple[int, str]) -> tuple[str, str]:
            pharmacy = pharmacies[item[0] % len(pharmacies)]
            with app.uow() as uow:
                made = prescriptions.obtain_confirmation(uow, Context(f"pharmacy:{pharmacy}", datetime.now(UTC)),
                                                         parse(PharmacyRequest, number=item[1],
                                                               pharmacy_id=pharmacy))
            return made.number, pharmacy

        def dispense(item: tuple[str, str]) -> None:
            with app.uow() as uow:
                prescriptions.record_dispense(uow, Context(f"pharmacy:{item[1]}", datetime.now(UTC)), parse(
                    RecordDispense, confirmation_number=item[0], pharmacy_id=item[1], counselled=True,
                    education_checklist_completed=True, medication_guide_given=True))

        def bare_write(n: int) -> None:
            with plain.begin() as connection:
                connection.execute(insert(bare.bench_writes).values(
                    prescription_id=f"rx_{n}", actor="bench", at=datetime.now(UTC)))

        parts = _Parts()
        parts.count(app.engine)  # before the sealer's thread starts: it iterates the listeners
        numbers = list(enumerate(seeded.writes))
        for made in [confirm(item) for item in numbers[:10]]:  # warm-up: pools, caches, imports
            dispense(made)
        for n in range(50):
            bare_write(n)
        undo = _wrap_parts(parts)
        work = numbers[10:10 + writes]
        try:
            confirmed: list[tuple[str, str]] = []
            for name, one, items in (("confirmation", confirm, work), ("dispense", dispense, None)):
                todo: list[Any] = list(items if items is not None else confirmed)
                parts.cpu.clear()
                parts.statements = 0
                parts.listing = []
                first = one(todo[0])
                listing, parts.listing = parts.listing, None
                process, thread = time.process_time(), time.thread_time()
                results = [one(item) for item in todo[1:]]
                process, thread = time.process_time() - process, time.thread_time() - thread
                if name == "confirmation":
                    confirmed = [first, *results]  # type: ignore[list-item]
                n = len(todo) - 1
                statements = (parts.statements - sum(1 for line in listing if not line.startswith("["))) / n
                print(f"{kind} {name}: {1e6 * thread / n:,.0f} µs CPU in the writing thread, "
                      f"{1e6 * (process - thread) / n:,.0f} µs in the others (the sealer), "
                      f"{statements:.1f} statements per write ({n} writes)")
                for part in parts.order:
                    print(f"    {part:66s} {1e6 * parts.cpu.get(part, 0.0) / n:7,.0f} µs")
                print("    statements of one write, in order:")
                for line in listing:
                    print(f"      {line}")
        finally:
            for restore in undo:
                restore()
        began = time.thread_time()
        for n in range(300):
            bare_write(n)
        print(f"{kind} truly bare durable write: {1e6 * (time.thread_time() - began) / 300:,.0f} µs CPU; "
              f"load average {os.getloadavg()[0]:.1f}")
        app.sealer.close()
        app.engine.dispose()
        plain.dispose()


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.writes", description=__doc__.split("\n\n")[0])
    p.add_argument("--databases", default="sqlite,postgresql")
    p.add_argument("--patients", type=int, default=3000)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=16)
    p.add_argument("--seconds", type=float, default=5.0, help="at most, per measure and round")
    p.add_argument("--locked", action="store_true",
                   help="also measure every decision under the write lock (before issue 14 item 3's "
                        "optimistic path), interleaved with the optimistic one in each round")
    p.add_argument("--profile", action="store_true",
                   help="one thread: statements and CPU time per part of one confirmation and one dispense")
    p.add_argument("--writes", type=int, default=300, help="with --profile: confirmations (and dispenses)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="rems-writes-") as tmp:
        for kind in args.databases.split(","):
            if args.profile:
                profile(kind, Path(tmp), args.patients, args.writes)
                continue
            measure(kind, Path(tmp), args.patients, args.rounds, args.threads, args.seconds, args.locked)


if __name__ == "__main__":
    main()
