"""Items 1 to 5 of issue 14 on one database: seed, the check in-process, then over HTTP on one
server process the project's reads and writes side by side with the truly bare ones (rounds), the
process offered 1×, 2×, 4× its capacity (open loop), and the reads again on two processes."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import bare, databases, inprocess, interleave, load, overload, seed, side_by_side, truly_bare
from benchmarks.report import Row
from benchmarks.server import rss_kib, serving
from rems.bootstrap import App, bootstrap
from rems.services.access.tokens import IssueToken, issue_token
from rems.services.context import Context
from rems.settings import Settings

TOKENS = 8  # pharmacies with a token: the load comes from several counters


@dataclass
class Options:
    size: int
    writes: int
    seconds: float
    write_seconds: float
    connections: int
    client: str
    in_process_calls: int
    rounds: int = 3
    overload_seconds: float = 10.0
    admission_limit: int = 32
    skip: frozenset[str] = frozenset()


def _tokens(app: App, pharmacies: list[str]) -> dict[str, str]:
    """Real tokens through the production use case (stored as SHA-256 only): pharmacy -> secret."""
    out = {}
    for pharmacy in pharmacies[:TOKENS]:
        with app.uow() as uow:
            issued = issue_token(uow, Context("admin:bench", datetime.now(UTC)),
                                 IssueToken(role="pharmacy", actor_id=pharmacy))
        out[pharmacy] = issued.secret
    return out


def _seed(kind: str, url: str, options: Options) -> tuple[App, seed.Seeded, dict[str, Any]]:
    app = bootstrap(Settings(env="development", database_url=url))
    app.migrate()
    bare.create_table(app.engine)
    truly_bare.create_table(app.engine)
    started = time.perf_counter()
    params = app.programs["pomalidomide"].at(datetime.now(UTC))
    seeded = seed.seed(app.engine, params, seed.Plan(patients=options.size, writes=options.writes,
                                                     expired=max(1, options.size // 100)))
    databases.analyze(url)
    took = time.perf_counter() - started
    return app, seeded, {"seconds": took, "rows": seeded.rows, "rows_per_second": sum(seeded.rows.values()) / took}


def _check_targets(app: App, seeded: seed.Seeded) -> None:
    sample = seeded.checks[:300] + seeded.writes[:100]
    refused = inprocess.verify(app, sample, seeded.pharmacies[0])
    if refused:
        raise SystemExit(f"the seeded population is wrong: {len(refused)} of {len(sample)} ready "
                         f"authorizations are refused by the check, e.g. {list(refused.items())[:3]}")


def measure(kind: str, options: Options, workdir: Path) -> tuple[list[Row], dict[str, Any]]:
    rows: list[Row] = []
    with databases.database(kind, workdir) as url:
        app, seeded, seeding = _seed(kind, url, options)
        _check_targets(app, seeded)
        tokens = _tokens(app, seeded.pharmacies)
        pharmacy = next(iter(tokens))
        n = options.in_process_calls
        pure = inprocess.pure_gate(app, seeded.checks, pharmacy, n * 5)
        service = inprocess.check_service(app, seeded.checks, pharmacy, n)
        rows.append(Row("2", "gate, pure function (records in memory)", kind, pure["per_second"], "checks/s",
                        pure["median_ms"], pure["p99_ms"], raw=pure, note="1 thread"))
        rows.append(Row("2", "check use case in-process (reads + gate)", kind, service["per_second"],
                        "checks/s", service["median_ms"], service["p99_ms"], raw=service, note="1 thread"))
        app.engine.dispose()
        loads: dict[str, list[float]] = {}
        # Closed loops of `connections` clients must never meet the limit: twice as many at once.
        roomy = {"REMS_MAX_CONCURRENT_REQUESTS": str(2 * options.connections)}
        with serving(url, workdir / f"server-{kind}.log", env=roomy) as server:
            http, loads = _http(kind, server.base, seeded, tokens, options, app)
            rows += http
            memory = rss_kib(server.pid)
        rows.append(Row("5", "API worker resident size after the rounds", kind, memory["VmRSS"] / 1024,
                        "MiB", note=f"peak {memory['VmHWM'] / 1024:.0f} MiB", raw=memory))
        check = next(r for r in http if r.measure == "check over HTTP")
        limit, capacity = options.admission_limit, check.rate or 0.0
        if "overload" not in options.skip and check.rate:
            with serving(url, workdir / f"server-{kind}-overload.log",
                         env={"REMS_MAX_CONCURRENT_REQUESTS": str(limit)}) as server:
                checks = side_by_side.read_measures(seeded, tokens)[-1].items
                load.run(options.client, server.base, checks, min(2, options.seconds), options.connections,
                         False)  # warm-up
                # Capacity: this process's closed-loop rate just before (the machine's load drifts).
                capacity = load.run(options.client, server.base, checks, options.seconds,
                                    options.connections, False).rps or check.rate
                rows += overload.measure(kind, server.base, server.pid, seeded, tokens, capacity,
                                         options.overload_seconds, limit)
        if "unlimited" not in options.skip and check.rate:  # the same at 2x, admission off: before
            with serving(url, workdir / f"server-{kind}-unlimited.log",
                         env={"REMS_MAX_CONCURRENT_REQUESTS": "0"}) as server:
                rows += overload.measure(kind, server.base, server.pid, seeded, tokens, capacity,
                                         options.overload_seconds, 0, (1, 2), ", admission off")
        if "processes" not in options.skip:
            with serving(url, workdir / f"server-{kind}-2.log", workers=2, env=roomy) as server:
                measures = side_by_side.read_measures(seeded, tokens, check_only=True)
                load.run(options.client, server.base, measures[1].items, min(2, options.seconds),
                         options.connections, False)  # warm-up: both processes
                found = interleave.run(options.client, server.base, measures, options.rounds,
                                       options.seconds, options.connections)
                loads["2 processes"] = found.load_average
                two = side_by_side.read_rows(kind, found, processes=2)
                if two[1].rate and check.rate:
                    two[1].note += (f"; {two[1].rate / check.rate:.2f} × the check on 1 process; load "
                                    f"average at each round: {', '.join(f'{x:.2f}' for x in found.load_average)}")
                rows += two
        app.engine.dispose()
    return rows, {"seeding": seeding, "check_targets": len(seeded.checks),
                  "write_targets": len(seeded.writes), "load_average_per_round": loads}


def _http(kind: str, base: str, seeded: seed.Seeded, tokens: dict[str, str], options: Options,
          app: App) -> tuple[list[Row], dict[str, list[float]]]:
    c, s, r = options.connections, options.seconds, options.rounds
    reads = side_by_side.read_measures(seeded, tokens)
    for m in reads:  # warm-up: imports, pools, caches
        load.run(options.client, base, m.items, min(2, s), c, False)
    read = interleave.run(options.client, base, reads, r, s, c)
    writes = side_by_side.write_measures(base, app, seeded, tokens, r, c)
    write = interleave.run(options.client, base, writes, r, options.write_seconds, c)
    rows = side_by_side.read_rows(kind, read) + side_by_side.write_rows(kind, write)
    for row, found in ((rows[0], read), (rows[4], write)):
        row.note += f"; load average at each round: {', '.join(f'{x:.2f}' for x in found.load_average)}"
    return rows, {"reads": read.load_average, "writes": write.load_average}
