"""Item 4: one server process offered 1×, 2× and 4× its capacity by an open-loop generator.

Capacity is the check's closed-loop rate (32 connections) on the same server process just before.
Each phase reports goodput (2xx answers per second), the p99 of the admitted requests (from their
due time), the 503s sent by admission control, the server's memory before, at its peak and after,
and, after the last phase, how long until a request is answered normally again.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from benchmarks import load, openloop, seed
from benchmarks.report import Row

MULTIPLES = (1, 2, 4)
GOAL_GOODPUT = 0.9  # of capacity, at 2x


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(kind: str, base: str, pid: int, seeded: seed.Seeded, tokens: dict[str, str],
            capacity: float, seconds: float, limit: int, multiples: tuple[int, ...] = MULTIPLES,
            label: str = "") -> list[Row]:
    secrets = itertools.cycle(tokens.values())
    items = [load.Item("GET", f"/v1/pharmacy/authorizations/{n}/check", next(secrets)) for n in seeded.checks]
    phases = openloop.run(base, items, [capacity * m for m in multiples], seconds, lambda: _rss_mib(pid))
    rows = []
    for multiple, phase in zip(multiples, phases, strict=True):
        summary = phase.summary()
        ratio = phase.goodput / capacity if capacity else None
        notes = [f"capacity {capacity:,.0f} req/s (closed loop just before); {phase.offered_rps:,.0f} req/s "
                 f"offered for {phase.seconds:g} s; " + (
                 f"admission limit {limit} in flight" if limit else "no admission limit"), f"{phase.refused} × 503", f"memory {phase.memory['before_mib']:.0f} → "
                 f"peak {phase.memory['peak_mib']:.0f} → {phase.memory['after_mib']:.0f} MiB"]
        notes += [f"{phase.timeouts} timed out"] if phase.timeouts else []
        notes += [f"{phase.other} other errors"] if phase.other else []
        notes += [f"{phase.dropped} not sent (generator's connection cap)"] if phase.dropped else []
        notes += [f"generator up to {phase.lag_ms_max:.0f} ms behind schedule"] if phase.lag_ms_max > 50 else []
        if phase.recovery:
            notes.append(f"normal answers again {phase.recovery['seconds']:.2f} s after the overload stopped")
        goal = f"goodput ≥ {GOAL_GOODPUT} × capacity" if multiple == 2 and limit else ""
        met = (ratio is not None and ratio >= GOAL_GOODPUT) if goal else None
        rows.append(Row("4", f"open loop at {multiple}× capacity{label}: goodput of the check, p99 of admitted",
                        kind, phase.goodput, "req/s", summary["p50_ok_ms"], summary["p99_ok_ms"], ratio,
                        goal, met, "; ".join(notes), raw={**summary, "capacity_rps": capacity}))
    return rows
