"""Server CPU per request, the check against the truly bare read (issue 14 item 2):
`python -m benchmarks.check_cpu [--databases sqlite,postgresql] [--size N] [--seconds S] [--rounds R]`.

Seeds a population, starts the benchmark server (one uvicorn worker, the truly bare app beside the
project's), then A B A B over the rounds drives each route with wrk at 32 connections and reads the
server process's CPU time (utime + stime of every thread, /proc/<pid>/stat) before and after: CPU
per request is the figure a shared machine's load disturbs least. Prints a line per round and
route with the 1-minute load average at its start. `--profile`: also samples each route with
py-spy (benchmarks/profile.py's summary)."""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks import databases, load, stack
from benchmarks.profile import summarize
from benchmarks.server import serving, serving_pids

TICK = os.sysconf("SC_CLK_TCK")
PATHS = {"stack_read": "/stack/read/{}", "inapp_read": "/bench/inapp/read/{}",
         "check": "/v1/pharmacy/authorizations/{}/check"}


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / TICK


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.check_cpu")
    p.add_argument("--databases", default="sqlite")
    p.add_argument("--size", type=int, default=2000)
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--routes", default="stack_read,check")
    p.add_argument("--profile", action="store_true")
    p.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server")
    args = p.parse_args(argv)
    client = load.choose("auto")
    options = stack.Options(size=args.size, writes=10, seconds=args.seconds, write_seconds=args.seconds,
                            connections=args.connections, client=client, in_process_calls=0)
    env = dict(e.split("=", 1) for e in args.env)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    for kind in args.databases.split(","):
        with tempfile.TemporaryDirectory(prefix="rems-cpu-") as tmp, \
                databases.database(kind, Path(tmp)) as url:
            app, seeded, _ = stack._seed(kind, url, options)
            secrets = itertools.cycle(stack._tokens(app, seeded.pharmacies).values())
            app.engine.dispose()
            items = {route: [load.Item("GET", PATHS[route].format(n), next(secrets)) for n in seeded.checks]
                     for route in args.routes.split(",")}
            with serving(url, Path(tmp) / "server.log", env=env) as server:
                pids = serving_pids(server.pid)
                for some in items.values():  # warm: caches, compiled statements, tokens
                    load.run(client, server.base, some, 1.0, args.connections, False)
                for round_ in range(args.rounds):
                    for route, some in items.items():
                        spying = None
                        if args.profile and round_ == args.rounds - 1:
                            folded = Path(tmp) / f"{route}.txt"
                            spying = subprocess.Popen(  # noqa: S603 (our command)
                                [spy, "record", "--pid", str(pids[0]), "--duration", str(int(args.seconds)),
                                 "--format", "raw", "--output", str(folded), "--nonblocking", "--threads"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                        loadavg = os.getloadavg()[0]
                        before = cpu_seconds(pids)
                        r = load.run(client, server.base, some, args.seconds, args.connections, False)
                        used = cpu_seconds(pids) - before
                        per = 1e6 * used / r.requests if r.requests else float("nan")
                        print(f"{kind} round {round_ + 1} {route:10s} {r.rps:7.0f} req/s p50 {r.p50_ms:6.1f} "
                              f"p99 {r.p99_ms:6.1f} ms errors {r.errors} CPU {per:6.0f} us/request "
                              f"(load {loadavg:.2f})", flush=True)
                        if spying is not None:
                            spying.wait(timeout=60)
                            print(summarize(folded, 40) if folded.exists() else "(no samples)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
