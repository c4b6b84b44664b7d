"""The benchmark server: the production API (with the project's own "bare" endpoints and the
truly bare handler mounted inside it) behind a path dispatcher that sends `/stack/...` to the
truly bare app (benchmarks/truly_bare.py), all in each server process; run by uvicorn as one or
more worker processes (a subprocess of the harness)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from benchmarks import bare, truly_bare
from rems.asgi import create_app
from rems.bootstrap import bootstrap
from rems.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


class Dispatch:
    """`/stack/...` to the truly bare app, everything else (lifespan too) to the project's."""

    def __init__(self, stack: ASGIApp, project: ASGIApp) -> None:
        self.stack, self.project = stack, project

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/stack/"):
            await self.stack(scope, receive, send)
        else:
            await self.project(scope, receive, send)


def create() -> Dispatch:
    """`uvicorn --factory benchmarks.server:create`; the database comes from REMS_DATABASE_URL."""
    settings = Settings()
    api = create_app(bootstrap(settings))
    api.include_router(bare.router)
    api.include_router(truly_bare.router(truly_bare.engine_for(settings.database_url)),
                       prefix="/bench/inapp")
    return Dispatch(truly_bare.create(settings.database_url), api)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def rss_kib(pid: int) -> dict[str, int]:
    """Resident size now and at its peak (VmRSS, VmHWM), in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


def serving_pids(pid: int) -> list[int]:
    """The processes that answer requests: the children of a multi-worker uvicorn, else itself."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    # uvicorn's supervisor also starts a multiprocessing resource tracker: not a server.
    workers = [int(c) for c in children if "resource_tracker" not in _cmdline(int(c))]
    return workers or [pid]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid


@contextmanager
def serving(url: str, log: Path, workers: int = 1, env: dict[str, str] | None = None) -> Iterator[Server]:
    """`workers` uvicorn processes (the parent's pid is the server's; children are its workers)."""
    port = free_port()
    env = {**os.environ, "REMS_DATABASE_URL": url, "REMS_ENV": "development",
           "PYTHONPATH": str(ROOT), **(env or {})}
    command = [sys.executable, "-m", "uvicorn", "--factory", "benchmarks.server:create", "--host",
               "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
               "--workers", str(workers)]
    with log.open("ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out,  # noqa: S603 (our command)
                                   stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", process)
    try:
        _wait_ready(server, log)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(server: Server, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"the benchmark server exited {server.process.returncode}:\n"
                             f"{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{server.base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"the benchmark server did not answer within {timeout} s")
