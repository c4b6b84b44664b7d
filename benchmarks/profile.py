"""Where a request's time goes: `python -m benchmarks.profile [--size N] [--seconds S]`.

Seeds a SQLite population, starts the benchmark server (one uvicorn worker), drives each route
with the load generator and samples the server with py-spy (all threads, `pip install py-spy`),
then prints, per route, the functions holding the most samples: inclusive (the function or what
it calls) and own. This is the evidence behind the notes on missed goals."""

from __future__ import annotations

import argparse
import itertools
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import bare, load, seed
from benchmarks.server import serving
from benchmarks.stack import _tokens
from rems.bootstrap import bootstrap
from rems.settings import Settings

IDLE = ("select", "epoll", "_worker (concurrent", "wait (threading", "_bootstrap", "run (asyncio")


def summarize(folded: Path, lines: int) -> str:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [f for f in stack.split(";") if f]
        if not frames or any(frames[-1].startswith(i) for i in IDLE):
            continue  # a thread waiting for work is not where a request's time goes
        n = int(count)
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    out = [f"busy samples: {total}", "inclusive:"]
    out += [f"  {100 * n / total:5.1f}%  {f}" for f, n in inclusive.most_common(lines)]
    out += ["own:"] + [f"  {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(lines)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    p.add_argument("--size", type=int, default=2000)
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--lines", type=int, default=30)
    p.add_argument("--routes", default="check,read,write,confirm")
    args = p.parse_args(argv)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    client = load.choose("auto")
    with tempfile.TemporaryDirectory(prefix="rems-profile-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'profile.db'}"
        app = bootstrap(Settings(env="development", database_url=url))
        app.migrate()
        bare.create_table(app.engine)
        seeded = seed.seed(app.engine, app.programs["pomalidomide"].at(datetime.now(UTC)),
                           seed.Plan(patients=args.size, writes=args.size // 3))
        secrets = itertools.cycle(_tokens(app, seeded.pharmacies).values())
        app.engine.dispose()
        items = {
            "check": [load.Item("GET", f"/v1/pharmacy/authorizations/{n}/check", next(secrets))
                      for n in seeded.checks],
            "read": [load.Item("GET", f"/bench/read/{n}", next(secrets)) for n in seeded.checks],
            "write": [load.Item("POST", f"/bench/write/{n}", next(secrets)) for n in seeded.checks],
            "confirm": [load.Item("POST", f"/v1/pharmacy/authorizations/{n}/confirmations", next(secrets))
                        for n in seeded.writes],
        }
        with serving(url, Path(tmp) / "server.log") as server:
            for route in args.routes.split(","):
                folded = Path(tmp) / f"{route}.txt"
                spying = subprocess.Popen([spy, "record", "--pid", str(server.pid), "--duration",  # noqa: S603
                                           str(args.seconds), "--format", "raw", "--output", str(folded),
                                           "--nonblocking", "--threads"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                result = load.run(client, server.base, items[route], args.seconds, 32, route == "confirm")
                spying.wait(timeout=60)
                print(f"===== {route}: {result.rps:.0f} req/s, p50 {result.p50_ms:.1f} ms, "
                      f"p99 {result.p99_ms:.1f} ms ({result.client})")
                print(summarize(folded, args.lines) if folded.exists() else "(no samples)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
