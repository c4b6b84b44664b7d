"""The benchmark harness (issues 8, 14): `python -m benchmarks.run [--quick] [--size N] ...`.

Seeds a realistic population on each database; measures, on one server process, the truly bare
read and durable write (no project code) side by side with the project's bare endpoints, the
check, the confirmation and the dispense, A B A B over rounds with the load average of each
(issue 14 items 1-3); the process offered 1x, 2x, 4x its capacity by an open-loop generator
(item 4); the reads on two processes (item 5); the gate in-process; the reminder sweep at growing
populations and the delivery rate through Celery on a real Redis; the resident sizes. Prints the
table and writes it with the raw figures to docs/benchmarks/latest.md and latest.json, and the
sweep, overload and ratio plots to docs/benchmarks/sweep.png, overload.png and ratios.png.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import load, machine, report, stack, sweep
from benchmarks.report import Row
from rems.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="smallest run (a few hundred patients, 1-second loads, SQLite): checks the harness")
    p.add_argument("--size", type=int, help="patients seeded for items 1-3 (default 10000; quick 300)")
    p.add_argument("--databases", default=None,
                   help="comma-separated: sqlite,postgresql (default both; quick: sqlite)")
    p.add_argument("--seconds", type=float, help="duration of each read load (default 10; quick 1)")
    p.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    p.add_argument("--client", choices=("auto", "wrk", "python"), default="auto",
                   help="load generator: wrk if installed (auto), or the asyncio/httpx client")
    p.add_argument("--sweep-sizes", default=None,
                   help="populations for the reminder sweep (default 10000,100000,1000000; quick 100,300)")
    p.add_argument("--due", type=int, help="patients with a reminder due, the same at every size "
                                            "(default 10000; quick 30)")
    p.add_argument("--sweep-database", default=None, help="database of the sweep (default postgresql; "
                                                          "quick: sqlite)")
    p.add_argument("--writes", type=int, help="of those, authorizations kept for the confirmations and "
                                               "dispenses, half each, a slice per round (default size/3)")
    p.add_argument("--rounds", type=int, help="rounds of the side-by-side loads (default 3; quick 2)")
    p.add_argument("--overload-seconds", type=float,
                   help="duration of each open-loop phase at 1x, 2x, 4x capacity (default 10; quick 1)")
    p.add_argument("--admission-limit", type=int, default=Settings().max_concurrent_requests,
                   help="REMS_MAX_CONCURRENT_REQUESTS of the server offered 1x-4x its capacity "
                        "(default: the setting's default)")
    p.add_argument("--skip", default="", help="comma-separated items to skip: stack, overload, unlimited "
                                              "(the 2x run without admission control; skipped when "
                                              "quick), processes, sweep, delivery")
    p.add_argument("--merge", type=Path, nargs="*", default=[],
                   help="latest.json files of earlier runs: their rows of what this run did not measure "
                        "are kept (e.g. `--skip stack,sweep --merge a.json b.json` joins two runs)")
    p.add_argument("--out", type=Path, default=None,
                   help="where latest.md, latest.json and sweep.png go (default docs/benchmarks; "
                        "quick: var/benchmarks, so a check of the harness never replaces the figures)")
    return p


def _progress(rows: list[Row]) -> None:
    for r in rows:
        figures = ", ".join(f"{name} {value:,.2f}" for name, value in (
            ("p50 ms", r.p50_ms), ("p99 ms", r.p99_ms), ("ratio", r.ratio)) if value is not None)
        rate = f"{r.rate:,.1f} {r.unit}" if r.rate is not None else r.unit
        print(f"    {r.item} {r.measure} [{r.database}]: {rate}{'; ' + figures if figures else ''}",
              file=sys.stderr)


def _merged(path: Path, rows: list[Row], extra: dict[str, Any],
            settings: dict[str, Any]) -> tuple[list[Row], dict[str, Any]]:
    """Keep an earlier run's rows for what this run did not measure (same item and database)."""
    earlier = json.loads(path.read_text())
    measured = {(r.item, r.database, r.measure.split(",")[0]) for r in rows}
    kept = [Row(**r) for r in earlier["rows"]
            if (r["item"], r["database"], r["measure"].split(",")[0]) not in measured]
    for r in kept:
        r.note = f"{r.note}; run of {earlier['machine']['date']}".lstrip("; ")
    settings.setdefault("merged_from", []).append(f"{earlier['machine']['date']}: {earlier['settings']}")
    older = {k: v for k, v in earlier.items() if k not in ("machine", "settings", "rows")}
    return rows + kept, {**older, **extra}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    quick = args.quick
    args.out = args.out or (ROOT / "var" / "benchmarks" if quick else ROOT / "docs" / "benchmarks")
    databases = (args.databases or ("sqlite" if quick else "sqlite,postgresql")).split(",")
    size = args.size or (300 if quick else 10_000)
    seconds = args.seconds or (1.0 if quick else 10.0)
    client = load.choose(args.client)
    if client == "python":
        print("note: wrk not used; the Python load generator competes with the server for the CPU, "
              "so HTTP figures are a lower bound (Debian: apt-get install -y wrk)", file=sys.stderr)
    skip = set(filter(None, args.skip.split(","))) | ({"unlimited"} if quick else set())
    rounds = args.rounds or (2 if quick else 3)
    # Single-use targets: half are confirmed in the rounds, half dispensed; a round that uses its
    # slice up is counted to its last answer (a lower bound only if the slice was too small).
    options = stack.Options(size=size, writes=args.writes or (max(40, size // 4) if quick else size // 3),
                            seconds=seconds, write_seconds=3.0 if quick else 5.0,  # quick: a slow write must still finish
                            connections=args.connections, client=client,
                            in_process_calls=200 if quick else 2000, rounds=rounds,
                            overload_seconds=args.overload_seconds or (1.0 if quick else 10.0),
                            admission_limit=args.admission_limit, skip=frozenset(skip))
    sweep_sizes = [int(s) for s in (args.sweep_sizes or ("100,300" if quick else "10000,100000,1000000"))
                   .split(",")]
    due = args.due if args.due is not None else (30 if quick else 10_000)
    sweep_db = args.sweep_database or ("sqlite" if quick else "postgresql")
    settings: dict[str, Any] = {"size": size, "databases": "+".join(databases), "client": client,
                                "connections": args.connections, "seconds": seconds,
                                "api": "1 uvicorn worker process (then 2 for item 5)",
                                "rounds": rounds, "admission_limit": args.admission_limit,
                                "sweep_sizes": sweep_sizes,
                                "due": due, "sweep_database": sweep_db}
    about = machine.describe()
    rows: list[Row] = []
    extra: dict[str, Any] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rems-bench-") as tmp:
        workdir = Path(tmp)
        if "stack" not in skip:
            for kind in databases:
                print(f"[{time.perf_counter() - started:6.1f}s] {kind}: seeding {size} patients and "
                      "measuring items 1-3", file=sys.stderr)
                found, details = stack.measure(kind, options, workdir)
                if any(r.measure.startswith("gate, pure") for r in rows):
                    found = [r for r in found if not r.measure.startswith("gate, pure")]
                rows += found
                _progress(found)
                extra[f"stack_{kind}"] = details
        if "sweep" not in skip:
            print(f"[{time.perf_counter() - started:6.1f}s] reminder sweep on {sweep_db} at {sweep_sizes} "
                  f"with {due} due", file=sys.stderr)
            sweep_rows, points, details = sweep.measure(sweep_db, sweep_sizes, due, workdir,
                                                        delivery="delivery" not in skip)
            rows += sweep_rows
            _progress(sweep_rows)
            extra["sweep"] = {"points": points, **details}
            if points:
                report.plot_sweep(args.out / "sweep.png", points)
    for earlier in args.merge:
        rows, extra = _merged(earlier, rows, extra, settings)
    rows.sort(key=lambda r: r.item)  # stable: the order, each item's rows as measured
    report.plot_overload(args.out / "overload.png", rows)
    report.plot_ratios(args.out / "ratios.png", rows)
    about["load_after"] = os.getloadavg()[0]
    settings["wall_seconds"] = round(time.perf_counter() - started)
    table = report.write(args.out, about, settings, rows, extra)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
