"""The benchmark server: the production API plus the bare endpoints, as a uvicorn factory, run as
one uvicorn worker process (a subprocess of the harness)."""

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
from fastapi import FastAPI

from benchmarks import bare
from rems.api.app import create_app
from rems.bootstrap import bootstrap
from rems.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def create() -> FastAPI:
    """`uvicorn --factory benchmarks.server:create`; the database comes from REMS_DATABASE_URL."""
    api = create_app(bootstrap(Settings()))
    api.include_router(bare.router)
    return api


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


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid


@contextmanager
def serving(url: str, log: Path) -> Iterator[Server]:
    port = free_port()
    env = {**os.environ, "REMS_DATABASE_URL": url, "REMS_ENV": "development",
           "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "uvicorn", "--factory", "benchmarks.server:create", "--host",
               "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
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
