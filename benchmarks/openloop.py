"""An open-loop load generator (issue 14 item 4): requests sent at a fixed rate whatever the server
does, as real clients arrive, unlike wrk's closed loop (a slow server there slows its own load).

Each request is due at start + i / rate and its latency counts from that moment, not from when a
connection was free to send it, so a server that falls behind shows it (no coordinated omission).
Requests go over keep-alive connections, a new one opened when all are busy (up to a cap; a
request finding none is counted as dropped). HTTP/1.1 is written and read by hand on asyncio
streams: httpx costs several times the CPU per request, and on a 2-core machine the generator
takes its CPU from the server it measures.
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from benchmarks.load import Item

TIMEOUT_S = 10.0


@dataclass
class Phase:
    offered_rps: float
    seconds: float
    sent: int = 0
    ok: int = 0  # 2xx
    refused: int = 0  # 503 (admission control)
    other: int = 0  # any other status
    timeouts: int = 0
    dropped: int = 0  # no connection could be had: the generator's cap, not the server
    latencies_ok: list[float] = field(default_factory=list, repr=False)
    latencies_refused: list[float] = field(default_factory=list, repr=False)
    started: float = 0.0
    finished: float = 0.0  # the last answer (the drain of what was admitted counts in the time)
    lag_ms_max: float = 0.0  # the generator's own delay behind the schedule (its CPU)
    memory: dict[str, float] = field(default_factory=dict)
    recovery: dict[str, float] = field(default_factory=dict)

    @property
    def goodput(self) -> float:
        """2xx answers per second, from the first send to the last answer."""
        return self.ok / max(self.seconds, self.finished - self.started)

    def summary(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items()
               if not k.startswith("latencies") and k not in ("started", "finished")}
        return {**out, "goodput_rps": self.goodput, "p50_ok_ms": pct(self.latencies_ok, 0.5),
                "p99_ok_ms": pct(self.latencies_ok, 0.99),
                "p99_refused_ms": pct(self.latencies_refused, 0.99)}


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1e3


def _raw(host: str, item: Item) -> bytes:
    body = (item.body or "").encode()
    head = [f"{item.method} {item.path} HTTP/1.1", f"Host: {host}",
            f"Authorization: Bearer {item.token}", f"Content-Length: {len(body)}"]
    if item.body:
        head.append("Content-Type: application/json")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class _Connections:
    def __init__(self, host: str, port: int, cap: int) -> None:
        self.host, self.port, self.cap = host, port, cap
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.open = 0

    async def take(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        if self.idle:
            return self.idle.pop()
        if self.open >= self.cap:
            return None
        self.open += 1
        try:
            return await asyncio.open_connection(self.host, self.port)
        except OSError:
            self.open -= 1
            raise

    def give(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
        self.idle.append(conn)

    def close(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
        self.open -= 1
        conn[1].close()

    def close_all(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


async def _exchange(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], raw: bytes) -> tuple[int, bool]:
    """(status, keep-alive) of one request on a connection."""
    reader, writer = conn
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
    await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("connection", "").lower() != "close"


async def _one(pool: _Connections, raw: bytes, due: float, phase: Phase) -> None:
    try:
        conn = await pool.take()
    except OSError:
        phase.other += 1
        return
    if conn is None:
        phase.dropped += 1
        return
    try:
        status, keep = await asyncio.wait_for(_exchange(conn, raw), TIMEOUT_S)
    except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
        phase.timeouts += 1
        pool.close(conn)
        return
    done = time.perf_counter()
    took, phase.finished = done - due, max(phase.finished, done)
    if 200 <= status < 300:
        phase.ok += 1
        phase.latencies_ok.append(took)
    elif status == 503:
        phase.refused += 1
        phase.latencies_refused.append(took)
    else:
        phase.other += 1
    if keep:
        pool.give(conn)
    else:
        pool.close(conn)


async def _phase(pool: _Connections, raws: Sequence[bytes], rate: float, seconds: float,
                 sample: Callable[[], float],
                 then: Callable[[], Coroutine[Any, Any, dict[str, float]]] | None = None) -> Phase:
    """Send at `rate` for `seconds`; `then` starts as the sending stops, while answers drain."""
    phase = Phase(rate, seconds)
    start = phase.started = time.perf_counter()
    tasks: set[asyncio.Task[None]] = set()
    total, peak, memory0 = round(rate * seconds), 0.0, sample()
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            phase.lag_ms_max = max(phase.lag_ms_max, -delay * 1e3)
        task = asyncio.create_task(_one(pool, raws[i % len(raws)], due, phase))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        phase.sent += 1
        if i % max(1, round(rate / 10)) == 0:  # ten memory samples a second
            peak = max(peak, sample())
    after = asyncio.create_task(then()) if then else None
    if tasks:
        await asyncio.wait(tasks)
    if after:
        phase.recovery = await after
    phase.memory = {"before_mib": memory0, "peak_mib": max(peak, sample()), "after_mib": sample()}
    return phase


async def _recovery(pool: _Connections, raw: bytes, normal_ms: float, limit_s: float) -> dict[str, float]:
    """After the overload: seconds until a request is answered 2xx within 2 × the normal p50."""
    start = time.perf_counter()
    first = None
    while time.perf_counter() - start < limit_s:
        probe = Phase(1, 1)
        sent = time.perf_counter()
        await _one(pool, raw, sent, probe)
        if probe.ok and (time.perf_counter() - sent) * 1e3 <= max(2 * normal_ms, 5.0):
            return {"seconds": time.perf_counter() - start, "first_ms": first or 0.0}
        first = first if first is not None else (time.perf_counter() - sent) * 1e3
        await asyncio.sleep(0.01)
    return {"seconds": float("inf"), "first_ms": first or 0.0}


def run(base: str, items: Sequence[Item], rates: Sequence[float], seconds: float,
        sample: Callable[[], float], cap: int = 1024) -> list[Phase]:
    """One phase per rate, back to back; then how long the server takes to answer normally again."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < cap + 256:  # a socket per connection: the default 1024 descriptors would cap it
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, cap + 256), hard))
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    raws = [_raw(f"{host}:{port}", i) for i in items]

    async def go() -> list[Phase]:
        pool = _Connections(host, port, cap)
        try:
            phases = [await _phase(pool, raws, rates[0], seconds, sample)]
            normal = pct(phases[0].latencies_ok, 0.5) or 5.0
            for n, rate in enumerate(rates[1:], start=2):
                last = n == len(rates)
                phases.append(await _phase(pool, raws, rate, seconds, sample, then=(
                    lambda: _recovery(pool, raws[0], normal, 60.0)) if last else None))
            return phases
        finally:
            pool.close_all()
    return asyncio.run(go())
