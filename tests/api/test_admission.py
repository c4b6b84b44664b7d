"""Admission control (issue 14 item 4): past its limit of requests in flight, a process answers 503
with Retry-After at once, never queues; the probes are never refused; a freed place is taken again.

Correctness only, nothing timed (the benchmark measures overload: benchmarks/overload.py). A
request is held in flight by a body that does not arrive until the test lets it: FastAPI reads
the body before anything else, so the project's real app keeps it admitted meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from rems.asgi import create_app
from rems.bootstrap import bootstrap
from rems.settings import Settings

LIMIT = 2


async def _stalled(release: asyncio.Event) -> AsyncIterator[bytes]:
    await release.wait()
    yield b'{"name": "x"}'


async def _scenario(db_path: Path, limit: int) -> dict[str, list[httpx.Response]]:
    application = bootstrap(Settings(env="test", database_url=f"sqlite:///{db_path}",
                                     max_concurrent_requests=limit, retry_after_seconds=3))
    api = create_app(application)
    transport = httpx.ASGITransport(app=api)
    seen: dict[str, list[httpx.Response]] = {}
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://rems.test") as client:
            release = asyncio.Event()
            held = [asyncio.create_task(client.post(
                "/v1/prescriber/patients", content=_stalled(release),
                headers={"Content-Type": "application/json"})) for _ in range(LIMIT)]
            for _ in range(50):  # let the held requests enter the app
                await asyncio.sleep(0)
            seen["over"] = [await client.get("/v1/pharmacy/authorizations/RX-1/check"),
                            await client.post("/v1/pharmacy/dispenses", json={})]
            seen["probe"] = [await client.get("/healthz")]
            release.set()
            seen["held"] = list(await asyncio.gather(*held))
            seen["after"] = [await client.get("/v1/pharmacy/authorizations/RX-1/check")]
    finally:
        application.engine.dispose()
    return seen


def test_past_the_limit_a_request_gets_503_with_retry_after_and_a_problem(db_path: Path) -> None:
    seen = asyncio.run(_scenario(db_path, LIMIT))
    for answer in seen["over"]:
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "3"
        assert answer.headers["content-type"] == "application/problem+json"
        problem = answer.json()
        assert problem["status"] == 503 and problem["type"] == "urn:rems:problem:overloaded"
        assert problem["instance"] == answer.request.url.path
        assert problem["request_id"] == answer.headers["x-request-id"]  # traceable like any error
    assert seen["probe"][0].status_code == 200  # the liveness probe is never refused


def test_held_requests_are_served_and_a_freed_place_is_taken_again(db_path: Path) -> None:
    seen = asyncio.run(_scenario(db_path, LIMIT))
    assert [a.status_code for a in seen["held"]] == [401] * LIMIT  # admitted: no token, refused by auth
    assert seen["after"][0].status_code == 401  # not 503: the places were given back


def test_limit_zero_admits_everything(db_path: Path) -> None:
    seen = asyncio.run(_scenario(db_path, 0))
    assert [a.status_code for a in seen["over"]] != [503, 503]
    assert all(a.status_code != 503 for a in seen["over"] + seen["held"] + seen["after"])


@pytest.mark.parametrize("name, value", [("max_concurrent_requests", -1), ("retry_after_seconds", 0)])
def test_admission_settings_are_validated(name: str, value: int) -> None:
    with pytest.raises(ValueError, match="REMS_MAX_CONCURRENT_REQUESTS"):
        Settings(env="test", **{name: value})


def test_a_refusal_echoes_the_callers_request_id_or_makes_a_distinct_one(db_path: Path) -> None:
    """Admission runs outside every other layer (admission.install), RequestId included, so it
    gives the refusal its id itself: a safe X-Request-ID is echoed, anything else replaced."""
    async def scenario() -> list[httpx.Response]:
        application = bootstrap(Settings(env="test", database_url=f"sqlite:///{db_path}",
                                         max_concurrent_requests=1))
        transport = httpx.ASGITransport(app=create_app(application))
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://rems.test") as client:
                release = asyncio.Event()
                held = asyncio.create_task(client.post("/v1/prescriber/patients", content=_stalled(release),
                                                       headers={"Content-Type": "application/json"}))
                for _ in range(50):
                    await asyncio.sleep(0)
                path = "/v1/pharmacy/authorizations/RX-1/check"
                answers = [await client.get(path, headers={"X-Request-ID": "pos-7.a:1"}),
                           await client.get(path, headers={"X-Request-ID": "bad id/../"}),
                           await client.get(path), await client.get(path)]
                release.set()
                await held
        finally:
            application.engine.dispose()
        return answers

    given, bad, first, second = asyncio.run(scenario())
    assert [a.status_code for a in (given, bad, first, second)] == [503] * 4
    assert given.headers["x-request-id"] == given.json()["request_id"] == "pos-7.a:1"
    ids = [a.headers["x-request-id"] for a in (bad, first, second)]
    assert [a.json()["request_id"] for a in (bad, first, second)] == ids
    assert len(set(ids)) == 3 and all(i.startswith("api-") and " " not in i for i in ids)
