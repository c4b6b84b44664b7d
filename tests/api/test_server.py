"""Races against a real server process (`rems serve`, uvicorn) on loopback, with threads sending
at once (issue 3): one confirmation per authorization, one dispense per retried request."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from rems.bootstrap import App
from rems.domain.model import Confirmation, Dispense
from tests.api.world import World

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def live(rems_app: App, db_path: Path, tmp_path: Path) -> Iterator[tuple[str, World]]:
    """A server process on a free loopback port over the test's database, and a cast in it."""
    world = World(rems_app, lambda: datetime.now(UTC)).cast()
    port = _free_port()
    env = {**os.environ, "REMS_DATABASE_URL": f"sqlite:///{db_path}", "REMS_ENV": "test"}
    with (tmp_path / "server.log").open("w") as log:
        server = subprocess.Popen([sys.executable, "-m", "rems.cli", "serve", "--port", str(port)],
                                  env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(url, server)
            yield url, world
        finally:
            server.terminate()
            server.wait(timeout=20)


def _wait_until_up(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited with {server.returncode}")
        try:
            if httpx.get(f"{url}/openapi.json", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("server did not start within 60 s")


def at_once(*requests: Callable[[httpx.Client], httpx.Response]) -> list[httpx.Response]:
    """Send every request from its own thread and connection, released together."""
    barrier, results = threading.Barrier(len(requests)), [None] * len(requests)

    def run(i: int, request: Callable[[httpx.Client], httpx.Response]) -> None:
        with httpx.Client(timeout=60) as client:
            barrier.wait()
            results[i] = request(client)  # type: ignore[call-overload]

    threads = [threading.Thread(target=run, args=(i, r)) for i, r in enumerate(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    return [r for r in results if r is not None]


def test_two_pharmacies_racing_for_one_authorization_get_one_confirmation(live: tuple[str, World]) -> None:
    url, w = live
    for _ in range(3):
        patient = w.patient(w.doc, "adult_male")
        _, number = w.authorization(patient, w.doc)

        def confirm(pharmacy: str, number: str = number) -> Callable[[httpx.Client], httpx.Response]:
            return lambda c: c.post(f"{url}/v1/pharmacy/authorizations/{number}/confirmations",
                                    headers=w.auth(pharmacy))

        responses = at_once(confirm(w.pharm), confirm(w.other_pharm))
        assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
        loser: dict[str, Any] = next(r for r in responses if r.status_code == 409).json()
        if loser["type"] == "urn:rems:problem:refused":  # it read the winner's confirmation
            assert [f["code"] for f in loser["failures"]] == ["R26_ALREADY_CONFIRMED"]
        else:  # both passed the gate; the database let one commit
            assert loser["type"] == "urn:rems:problem:conflict"
            assert "changed by another request" in loser["detail"]
    assert w.count(Confirmation) == 3


def test_concurrent_retries_of_one_dispense_record_it_once(live: tuple[str, World]) -> None:
    url, w = live
    number = w.confirmation(w.number, w.pharm)
    body = {"confirmation_number": number, "counselled": True, "education_checklist_completed": True,
            "medication_guide_given": True}
    headers = {**w.auth(w.pharm), "Idempotency-Key": "dispense-retry-1"}
    responses = at_once(*[lambda c: c.post(f"{url}/v1/pharmacy/dispenses", headers=headers, json=body)] * 4)
    assert [r.status_code for r in responses] == [201] * 4, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert w.count(Dispense) == 1
