"""Real sign-in services for the tests, each its own process on a free loopback port: the OpenID
Provider `oidc-provider-mock` from PyPI (Flask on authlib's server), and tests/setup/smart_ehr.py
for SMART's EHR launch. Started once per test session (per xdist worker), stopped at its end."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def running(command: list[str], ready_url: str) -> Iterator[None]:
    log = tempfile.TemporaryFile()  # noqa: SIM115 (outlives this block: closed at the end)
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(ready_url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                stderr = log.read().decode(errors="replace")
                raise RuntimeError(f"{command[0]} did not start: {stderr[-2000:]}")
            time.sleep(0.1)
        yield
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@contextmanager
def openid_provider() -> Iterator[str]:
    """oidc-provider-mock: any client id and secret, subjects chosen on its form; nonce required."""
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "oidc_provider_mock", "--port", str(port), "--require-nonce"]
    with running(command, f"{issuer}/.well-known/openid-configuration"):
        yield issuer


@contextmanager
def smart_ehr() -> Iterator[str]:
    """The EHR's FHIR base URL (a launch's `iss`)."""
    port = free_port()
    with running([sys.executable, "-m", "tests.setup.smart_ehr", str(port)],
                 f"http://127.0.0.1:{port}/fhir/.well-known/smart-configuration"):
        yield f"http://127.0.0.1:{port}/fhir"
