"""Load generation: wrk (C, event-driven, one thread) by default, an asyncio + httpx client when
wrk is missing or asked for.

Both are closed-loop: `connections` clients each send a request, wait for the answer, send the
next. Latency is measured per request from send to last byte. wrk is preferred because on a
2-core machine the load generator takes CPU from the server it measures: wrk needs a few percent
of a core for thousands of requests per second, the Python client most of one (its figures are a
lower bound, and the harness says which client ran).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx


@dataclass(frozen=True)
class Item:
    method: str
    path: str
    token: str
    body: str | None = None


@dataclass
class Result:
    client: str
    requests: int
    seconds: float
    errors: int  # non-2xx answers and socket errors
    p50_ms: float
    p99_ms: float
    mean_ms: float
    exhausted: bool  # ran out of single-use items before the time was up

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, float | int | str | bool]:
        return {**asdict(self), "rps": self.rps}


def wrk_path() -> str | None:
    return shutil.which("wrk")


def choose(client: str) -> str:
    if client == "auto":
        return "wrk" if wrk_path() else "python"
    if client == "wrk" and not wrk_path():
        raise SystemExit("wrk is not installed (Debian: apt-get install -y wrk); use --client python")
    return client


def run(client: str, base: str, items: Sequence[Item], seconds: float, connections: int,
        once: bool) -> Result:
    """Drive `items` at the server for `seconds`; `once`: each item is sent at most once."""
    if client == "wrk":
        return _wrk(base, items, seconds, connections, once)
    return asyncio.run(_python(base, items, seconds, connections, once))


_LUA = """
local items = {%(items)s}
local tokens = {%(tokens)s}
local once = %(once)s
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  counter, exhausted, nthreads = 0, 0, %(threads)d
end
function request()
  local i = tid + counter * nthreads + 1
  counter = counter + 1
  if once and i > #items then
    exhausted = 1
    return wrk.format("GET", "/healthz")
  end
  local it = items[((i - 1) %% #items) + 1]
  local headers = {["Authorization"] = "Bearer " .. tokens[it[3]]}
  if it[4] then headers["Content-Type"] = "application/json" end
  return wrk.format(it[1], it[2], headers, it[4])
end
function done(summary, latency, requests)
  local ex = 0
  for _, t in ipairs(threads) do ex = ex + t:get("exhausted") end
  local e = summary.errors
  io.write(string.format('\\nWRKJSON {"requests": %%d, "duration_us": %%d, "errors": %%d, "p50_us": %%d, ' ..
    '"p99_us": %%d, "mean_us": %%f, "exhausted": %%d}\\n', summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout, latency:percentile(50.0),
    latency:percentile(99.0), latency.mean, ex))
end
"""


def _lua(items: Sequence[Item], once: bool, threads: int) -> str:
    tokens = sorted({i.token for i in items})
    index = {t: n + 1 for n, t in enumerate(tokens)}
    rows = ",\n".join(f'{{"{i.method}", "{i.path}", {index[i.token]}, '
                      f'{"[[" + i.body + "]]" if i.body else "nil"}}}' for i in items)
    return _LUA % {"items": rows, "tokens": ", ".join(f'"{t}"' for t in tokens),
                   "once": "true" if once else "false", "threads": threads}


def _wrk(base: str, items: Sequence[Item], seconds: float, connections: int, once: bool) -> Result:
    threads = 1  # one event loop drives 32 connections easily; a second would take a server core
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_lua(items, once, threads))
    try:
        command = [wrk_path() or "wrk", "-t", str(threads), "-c", str(connections), "-d",
                   f"{max(1, round(seconds))}s", "--timeout", "30s", "-s", script.name, base]
        done = subprocess.run(command, capture_output=True, text=True,  # noqa: S603 (wrk, our script)
                              timeout=seconds + 120, check=False)
    finally:
        Path(script.name).unlink()
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-2000:]}{done.stderr[-2000:]}")
    data = json.loads(line.removeprefix("WRKJSON "))
    return Result("wrk", data["requests"], data["duration_us"] / 1e6, data["errors"],
                  data["p50_us"] / 1e3, data["p99_us"] / 1e3, data["mean_us"] / 1e3,
                  bool(data["exhausted"]))


async def _python(base: str, items: Sequence[Item], seconds: float, connections: int,
                  once: bool) -> Result:
    latencies: list[float] = []
    errors, cursor, exhausted = 0, 0, False
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        start = time.perf_counter()
        deadline = start + seconds

        async def worker() -> None:
            nonlocal errors, cursor, exhausted
            while time.perf_counter() < deadline:
                if once and cursor >= len(items):
                    exhausted = True
                    return
                item = items[cursor % len(items)]
                cursor += 1
                headers = {"Authorization": f"Bearer {item.token}"}
                if item.body:
                    headers["Content-Type"] = "application/json"
                sent = time.perf_counter()
                try:
                    answer = await client.request(item.method, item.path, headers=headers, content=item.body)
                    errors += answer.status_code >= 400
                except httpx.HTTPError:
                    errors += 1
                latencies.append(time.perf_counter() - sent)

        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - start
    ordered = sorted(latencies) or [0.0]

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1e3
    return Result("python", len(latencies), elapsed, errors, pick(0.5), pick(0.99),
                  sum(ordered) / len(ordered) * 1e3, exhausted)
