"""Items 1, 2, 3 over HTTP: the project's endpoints against the truly bare ones on the same server.

Reads, A B A B over the rounds: the truly bare read (`/stack/read`), the same handler inside the
project's app (`/bench/inapp/read`), the project's own "bare read" (`/bench/read`, the second
reference) and the pharmacy check. Writes likewise: the truly bare durable write, the project's
bare write, a confirmation and a dispense (single-use targets: each round has its own slice, and
a run that uses its slice up is counted up to its last real answer, never with `/healthz`).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from benchmarks import interleave, load, seed
from benchmarks.interleave import Measure, Rounds
from benchmarks.report import Row
from rems.adapters import orm
from rems.bootstrap import App

GOAL_READ = 0.7  # issue 14 item 2: the check >= 0.7 x the truly bare read
GOAL_P99_MS = 25.0  # ... with p99 under 25 ms at 32 connections
GOAL_WRITE = 0.5  # item 3: confirmation and dispense >= 0.5 x the truly bare durable write


def _issued(app: App, numbers: list[str]) -> list[Any]:
    """(confirmation number, pharmacy) of the live confirmations on these authorizations."""
    rx, cf = orm.prescriptions.c, orm.confirmations.c
    with app.engine.connect() as connection:
        return list(connection.execute(select(cf.number, cf.pharmacy_id).join_from(
            orm.confirmations, orm.prescriptions, rx.id == cf.prescription_id)
            .where(cf.state == "issued", rx.number.in_(numbers))).all())


def read_measures(seeded: seed.Seeded, tokens: dict[str, str], check_only: bool = False) -> list[Measure]:
    secrets = itertools.cycle(tokens.values())

    def items(path: str) -> list[load.Item]:
        return [load.Item("GET", path.format(n), next(secrets)) for n in seeded.checks]
    found = [Measure("stack_read", items("/stack/read/{}")),
             Measure("inapp_read", items("/bench/inapp/read/{}")),
             Measure("bench_read", items("/bench/read/{}")),
             Measure("check", items("/v1/pharmacy/authorizations/{}/check"))]
    return [m for m in found if m.key in ("stack_read", "check")] if check_only else found


def write_measures(base: str, app: App, seeded: seed.Seeded, tokens: dict[str, str], rounds: int,
                   connections: int) -> list[Measure]:
    secrets = itertools.cycle(tokens.values())
    half = len(seeded.writes) // 2
    confirms, to_dispense = [], []
    for n, number in enumerate(seeded.writes):
        item = load.Item("POST", f"/v1/pharmacy/authorizations/{number}/confirmations", next(secrets))
        (confirms if n < half else to_dispense).append(item)
    # Unmeasured: the dispenses' confirmations, before the rounds (the Python client: it stops
    # when they are done).
    load.run("python", base, to_dispense, 600, connections, once=True)
    dispenses = [load.Item("POST", "/v1/pharmacy/dispenses", tokens[pharmacy], json.dumps(
        {"confirmation_number": number, "counselled": True, "education_checklist_completed": True,
         "medication_guide_given": True})) for number, pharmacy in _issued(app, seeded.writes[half:])]
    return [Measure("stack_write", [load.Item("POST", f"/stack/write/{n}", next(secrets))
                                    for n in seeded.checks]),
            Measure("bench_write", [load.Item("POST", f"/bench/write/{n}", next(secrets))
                                    for n in seeded.checks]),
            Measure("confirm", per_round=interleave.split(confirms, rounds)),
            Measure("dispense", per_round=interleave.split(dispenses, rounds))]


def _row(kind: str, found: Rounds, item: str, measure: str, key: str, reference: str | None = None,
         old: str | None = None, goal: str = "", meets: Callable[[float, float], bool] | None = None,
         note: str = "") -> Row:
    if not found.results.get(key):
        return Row(item, measure, kind, note="nothing to send")
    raw = found.raw(key)
    ratio = found.ratio(key, reference) if reference else None
    p99 = found.median(key, "p99_ms")
    met = meets(ratio, p99) if meets and ratio is not None else None
    notes = [note] if note else []
    notes.append(f"{raw['requests']} requests in {len(raw['rounds'])} rounds, {raw['client']}")
    notes += [f"{raw['errors']} errors"] if raw["errors"] else []
    notes += [f"ran out of targets in a round: counted to its last answer ({raw['fills']} /healthz "
              "not counted)"] if raw["exhausted"] else []
    return Row(item, measure, kind, found.median(key, "rps"), "req/s", found.median(key, "p50_ms"), p99,
               ratio, goal, met, "; ".join(notes), raw=raw,
               ratio_old=found.ratio(key, old) if old else None)


def read_rows(kind: str, found: Rounds, processes: int = 1) -> list[Row]:
    p99_goal = f", p99 < {GOAL_P99_MS:.0f} ms"
    goal = f"≥ {GOAL_READ} × truly bare read{p99_goal}"

    def meets(ratio: float, p99: float) -> bool:
        return ratio >= GOAL_READ and p99 < GOAL_P99_MS
    if processes > 1:
        return [_row(kind, found, "5", f"{processes} processes: truly bare read", "stack_read"),
                _row(kind, found, "5", f"{processes} processes: check over HTTP", "check", "stack_read",
                     goal=goal, meets=meets)]
    return [
        _row(kind, found, "1", "truly bare read (async route, 1 indexed SELECT, SQLAlchemy Core)",
             "stack_read"),
        _row(kind, found, "1", "the same handler inside the project's app (middleware, routing)",
             "inapp_read", "stack_read"),
        _row(kind, found, "1", "project's bare read (token + unit of work + 1 SELECT)", "bench_read",
             "stack_read"),
        _row(kind, found, "2", "check over HTTP", "check", "stack_read", "bench_read", goal, meets),
    ]


def write_rows(kind: str, found: Rounds) -> list[Row]:
    goal = f"≥ {GOAL_WRITE} × truly bare write"

    def meets(ratio: float, _p99: float) -> bool:
        return ratio >= GOAL_WRITE
    return [
        _row(kind, found, "1", "truly bare durable write (1 INSERT + commit)", "stack_write"),
        _row(kind, found, "1", "project's bare write (token + lock + insert + commit)", "bench_write",
             "stack_write"),
        _row(kind, found, "3", "confirmation over HTTP (gate + audit)", "confirm", "stack_write",
             "bench_write", goal, meets),
        _row(kind, found, "3", "dispense over HTTP (gate + audit)", "dispense", "stack_write",
             "bench_write", goal, meets),
    ]
