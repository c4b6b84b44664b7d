"""Items 1, 2, 3 and 5 on one database: seed, check in-process, then the check, the bare read, the
bare write and the write path (confirmation, then dispense) over HTTP against one uvicorn worker."""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from benchmarks import bare, databases, inprocess, load, seed
from benchmarks.report import Row
from benchmarks.server import rss_kib, serving
from rems.adapters import orm
from rems.bootstrap import App, bootstrap
from rems.services.tokens import IssueToken, issue_token
from rems.services.uow import Context
from rems.settings import Settings

GOAL_RATIO = 0.7
GOAL_P99_MS = 20.0
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
        rows.append(Row("1", "gate, pure function (records in memory)", kind, pure["per_second"], "checks/s",
                        pure["median_ms"], pure["p99_ms"], raw=pure, note="1 thread"))
        rows.append(Row("1", "check use case in-process (reads + gate)", kind, service["per_second"],
                        "checks/s", service["median_ms"], service["p99_ms"], raw=service, note="1 thread"))
        app.engine.dispose()
        with serving(url, workdir / f"server-{kind}.log") as server:
            rows += _http(kind, server.base, seeded, tokens, options, app)
            memory = rss_kib(server.pid)
        rows.append(Row("5", "API worker resident size after the run", kind, memory["VmRSS"] / 1024, "MiB",
                        note=f"peak {memory['VmHWM'] / 1024:.0f} MiB", raw=memory))
        app.engine.dispose()
    return rows, {"seeding": seeding, "check_targets": len(seeded.checks), "write_targets": len(seeded.writes)}


def _issued(app: App, numbers: list[str]) -> list[Any]:
    """(confirmation number, pharmacy) of the live confirmations on these authorizations."""
    rx, cf = orm.prescriptions.c, orm.confirmations.c
    with app.engine.connect() as connection:
        return list(connection.execute(select(cf.number, cf.pharmacy_id).join_from(
            orm.confirmations, orm.prescriptions, rx.id == cf.prescription_id)
            .where(cf.state == "issued", rx.number.in_(numbers))).all())


def _http(kind: str, base: str, seeded: seed.Seeded, tokens: dict[str, str], options: Options,
          app: App) -> list[Row]:
    secrets = itertools.cycle(tokens.values())
    checks = [load.Item("GET", f"/v1/pharmacy/authorizations/{n}/check", next(secrets)) for n in seeded.checks]
    reads = [load.Item("GET", f"/bench/read/{n}", next(secrets)) for n in seeded.checks]
    bare_writes = [load.Item("POST", f"/bench/write/{n}", next(secrets)) for n in seeded.checks]
    c, s = options.connections, options.seconds

    def go(items: list[load.Item], seconds: float, once: bool = False) -> load.Result:
        return load.run(options.client, base, items, seconds, c, once)

    go(checks, min(2, s))  # warm-up: imports, pools, caches
    go(reads, min(2, s))
    check, read = go(checks, s), go(reads, s)
    write = go(bare_writes, options.write_seconds)
    owners = itertools.cycle(tokens.items())
    holder: dict[str, str] = {}
    confirms = []
    for number in seeded.writes:
        pharmacy, secret = next(owners)
        holder[number] = pharmacy
        confirms.append(load.Item("POST", f"/v1/pharmacy/authorizations/{number}/confirmations", secret))
    confirm = go(confirms, options.write_seconds, once=True)
    issued = _issued(app, seeded.writes)
    # Unmeasured: confirm enough more that the dispenses cannot run out before their time is up (a
    # dispense is not faster than the bare write).
    wanted = min(len(confirms), round(write.rps * options.write_seconds * 1.5) + c)
    if len(issued) < wanted:
        done = {i.path for i in confirms[:confirm.requests]}
        rest = [i for i in confirms if i.path not in done][:wanted - len(issued)]
        load.run("python", base, rest, 600, c, once=True)
        issued = _issued(app, seeded.writes)
    dispenses = []
    for number, pharmacy in issued:
        body = json.dumps({"confirmation_number": number, "counselled": True,
                           "education_checklist_completed": True, "medication_guide_given": True})
        dispenses.append(load.Item("POST", "/v1/pharmacy/dispenses", tokens[pharmacy], body))
    dispense = go(dispenses, options.write_seconds, once=True) if dispenses else None

    def row(item: str, measure: str, result: load.Result | None, base_result: load.Result | None = None,
            goal: str = "", p99_goal: bool = False) -> Row:
        if result is None:
            return Row(item, measure, kind, note="nothing to send")
        ratio = result.rps / base_result.rps if base_result and base_result.rps else None
        met = None
        if ratio is not None:
            met = ratio >= GOAL_RATIO and (not p99_goal or result.p99_ms < GOAL_P99_MS)
        notes = [f"{result.requests} requests, {result.client}"]
        notes += [f"{result.errors} errors"] if result.errors else []
        notes += ["ran out of targets: a lower bound"] if result.exhausted else []
        return Row(item, measure, kind, result.rps, "req/s", result.p50_ms, result.p99_ms, ratio, goal, met,
                   "; ".join(notes), raw=result.as_dict())

    p99 = kind == "sqlite"
    return [
        row("2", "check over HTTP", check, read,
            f"≥ {GOAL_RATIO} × bare read" + (f", p99 < {GOAL_P99_MS:.0f} ms" if p99 else ""), p99),
        row("2", "bare read (token + 1 indexed SELECT)", read),
        row("3", "confirmation over HTTP (gate + audit)", confirm, write, f"≥ {GOAL_RATIO} × bare write"),
        row("3", "dispense over HTTP (gate + audit)", dispense, write, f"≥ {GOAL_RATIO} × bare write"),
        row("3", "bare write (token + lock + insert + commit)", write),
    ]
