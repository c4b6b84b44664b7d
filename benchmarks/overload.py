"""Item 4: one server process offered 1×, 2× and 4× its capacity by an open-loop generator.

Capacity is the check's closed-loop rate (32 connections) on the same server process just before.
Each phase reports goodput (2xx answers per second), the p99 of the admitted requests (from their
due time), the 503s sent by admission control, the server's memory before, at its peak and after,
and, after the last phase, how long until a request is answered normally again.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import databases, load, openloop, seed, side_by_side
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


def _cpu_s(pid: int) -> float:
    """utime + stime of a process (its threads included), from /proc/<pid>/stat, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def limits(kind: str, size: int, limits_: list[int], seconds: float, multiples: tuple[int, ...],
           connections: int, workdir: Path) -> list[dict[str, Any]]:
    """Issue 14 item 4, choosing the in-flight limit: per limit, the capacity (a fresh process
    that never refuses, closed loop: wrk, `connections`), then a fresh process with that limit
    offered each multiple of it by the open loop; with the server's and this generator's CPU per phase (on a 2-core machine
    the generator's CPU is taken from the server it measures)."""
    from benchmarks import stack
    from benchmarks.server import serving
    options = stack.Options(size=size, writes=1, seconds=seconds, write_seconds=seconds,
                            connections=connections, client="wrk", in_process_calls=1)
    out = []
    with databases.database(kind, workdir) as url:
        app, seeded, _ = stack._seed(kind, url, options)
        tokens = stack._tokens(app, seeded.pharmacies)
        app.engine.dispose()
        checks = side_by_side.read_measures(seeded, tokens)[-1].items
        secrets = itertools.cycle(tokens.values())
        items = [load.Item("GET", f"/v1/pharmacy/authorizations/{n}/check", next(secrets)) for n in seeded.checks]
        for limit in limits_:
            # Capacity: the closed loop's 2xx rate on a process that never refuses (its limit twice
            # the connections), just before; then a process with this limit, warmed up.
            with serving(url, workdir / f"server-roomy-{limit}.log",
                         env={"REMS_MAX_CONCURRENT_REQUESTS": str(2 * connections)}) as server:
                load.run("wrk", server.base, checks, min(2.0, seconds), connections, False)  # warm-up
                cpu0 = _cpu_s(server.pid)
                closed = load.run("wrk", server.base, checks, seconds, connections, False)
                capacity = (closed.requests - closed.errors) / closed.seconds if closed.seconds else 0.0
                point: dict[str, Any] = {"limit": limit, "capacity_rps": capacity, "closed_p99_ms": closed.p99_ms,
                                         "closed_cpu_ms_per_request": 1e3 * (_cpu_s(server.pid) - cpu0)
                                         / max(1, closed.requests), "load_average": os.getloadavg()[0]}
            with serving(url, workdir / f"server-{limit}.log",
                         env={"REMS_MAX_CONCURRENT_REQUESTS": str(limit)}) as server:
                openloop.run(server.base, items, [capacity], min(2.0, seconds), lambda: 0.0)  # warm-up
                for multiple in multiples:
                    cpu0, mine0 = _cpu_s(server.pid), time.process_time()
                    phase = openloop.run(server.base, items, [capacity * multiple], seconds,
                                         lambda: _rss_mib(server.pid))[0]
                    server_cpu, mine = _cpu_s(server.pid) - cpu0, time.process_time() - mine0
                    summary = phase.summary()
                    point[f"{multiple}x"] = {
                        "goodput_ratio": phase.goodput / capacity if capacity else None,
                        "goodput_rps": phase.goodput, "refused": phase.refused, "timeouts": phase.timeouts,
                        "p50_ok_ms": summary["p50_ok_ms"], "p99_ok_ms": summary["p99_ok_ms"],
                        "server_cpu_s": server_cpu, "generator_cpu_s": mine, "memory": phase.memory,
                        "wall_s": max(phase.seconds, phase.finished - phase.started)}
                print(json.dumps(point), file=sys.stderr, flush=True)
                out.append(point)
    return out


if __name__ == "__main__":
    import argparse
    import tempfile
    parser = argparse.ArgumentParser(prog="python -m benchmarks.overload", description=limits.__doc__)
    parser.add_argument("--database", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--limits", default="4,8,16,32")
    parser.add_argument("--multiples", default="1,2")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--out", type=Path)
    arguments = parser.parse_args()
    found = limits(arguments.database, arguments.size, [int(x) for x in arguments.limits.split(",")],
                   arguments.seconds, tuple(int(x) for x in arguments.multiples.split(",")),
                   arguments.connections, Path(tempfile.mkdtemp(prefix="rems-overload-")))
    if arguments.out:
        arguments.out.write_text(json.dumps(found, indent=1))
