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
    fills: int = 0  # `/healthz` answers sent after they ran out (wrk): not counted in `requests`

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
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_nsec; } rems_timespec;
           int clock_gettime(int clock, rems_timespec *now); ]]
local clock = ffi.new("rems_timespec")
local function now_us()
  ffi.C.clock_gettime(1, clock)  -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000000 + tonumber(clock.tv_nsec) / 1000
end
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  counter, exhausted, nthreads = 0, 0, %(threads)d
  real, fills, first_us, last_us = 0, 0, now_us(), 0
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
if once then
  -- Single-use targets: once they run out, a connection sends one /healthz (wrk must send
  -- something) and then waits out the run. Those answers are not requests of the measure: they
  -- are told apart by their body, and the run's time ends at the last real answer.
  function delay()
    if exhausted == 1 then return 3600000 end
    return 0
  end
  function response(status, headers, body)
    if body == '{"status":"ok"}' then
      fills = fills + 1
    else
      real, last_us = real + 1, now_us()
    end
  end
end
function done(summary, latency, requests)
  local ex, n, fill, first, last = 0, 0, 0, nil, 0
  for _, t in ipairs(threads) do
    ex, n, fill = ex + t:get("exhausted"), n + t:get("real"), fill + t:get("fills")
    local f = t:get("first_us")
    if first == nil or f < first then first = f end
    if t:get("last_us") > last then last = t:get("last_us") end
  end
  local e = summary.errors
  io.write(string.format('\\nWRKJSON {"requests": %%d, "duration_us": %%d, "errors": %%d, "p50_us": %%d, ' ..
    '"p99_us": %%d, "mean_us": %%f, "exhausted": %%d, "real": %%d, "fills": %%d, "real_us": %%d}\\n',
    summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout, latency:percentile(50.0),
    latency:percentile(99.0), latency.mean, ex, n, fill, last - first))
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
    requests, duration_us = data["requests"], data["duration_us"]
    if once:  # only the real answers, over the time until the last of them
        requests = data["real"]
        if data["exhausted"]:
            duration_us = max(1, data["real_us"])
    return Result("wrk", requests, duration_us / 1e6, data["errors"],
                  data["p50_us"] / 1e3, data["p99_us"] / 1e3, data["mean_us"] / 1e3,
                  bool(data["exhausted"]), data["fills"] if once else 0)


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
