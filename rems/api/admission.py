"""Admission control per process (issue 14 item 4): at most N requests in flight; the next gets a
503 with `Retry-After` at once instead of a place in a queue that only grows.

Without it, a process offered twice what it serves keeps accepting: every request waits behind
all the others, the clients time out, retry and add more, memory grows with the queue and the
process serves less and less (the issue measured 21–50 req/s out of ~110 at 2× and 30 s to
recover). With it, the admitted requests wait behind at most N others (so their latency is
bounded by N × the service time), the rest are told to come back (`Retry-After`, RFC 9110 §10.2.3)
before anything is read or parsed, and the process serves at its capacity throughout.

A refusal is CPU taken from the admitted requests, so it costs as little as it can: `install`
puts this layer outside the application's whole middleware stack (Starlette's error handler, the
request id, the access line and metrics, CORS, the body limit: none of them runs for a refusal),
and the answer's headers and most of its body are built once. Its request id is the caller's
`X-Request-ID` when it is a safe one, else a per-process counter (no random bytes per refusal),
echoed in the header and the problem like every other error's.

The limit is per process (`REMS_MAX_CONCURRENT_REQUESTS`; 0 turns it off): a server of several
workers or replicas admits N per process. The probes (`/healthz`, `/readyz`, `/metrics`) are never
refused, so an overloaded process is not mistaken for a dead one and restarted. One event loop
runs this middleware per process, so a plain counter is exact: nothing awaits between the test and
the increment. The default limit and why: docs/hot-path.md (overload section).
"""

from __future__ import annotations

import itertools
import json
import os
import re
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

EXEMPT = frozenset({"/healthz", "/readyz", "/metrics"})
KIND = "urn:rems:problem:overloaded"
_SAFE_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")  # as rems.http.request_id.RequestId accepts one


class Admission:
    """ASGI middleware: admit up to `limit` HTTP requests at once, answer the rest 503 at once."""

    def __init__(self, app: ASGIApp, limit: int, retry_after_seconds: int = 1) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0
        self.refused = 0  # since the process started (for metrics and the benchmark)
        detail = (f"this server process is answering its limit of {limit} requests at once; "
                  f"retry after {retry_after_seconds} s")
        # The problem's constant part, rendered once; per refusal only the path and the id.
        self._head = json.dumps({"type": KIND, "title": "Service Unavailable", "status": 503,
                                 "detail": detail})[:-1].encode() + b', "instance": '
        self._headers = [(b"content-type", b"application/problem+json"),
                         (b"retry-after", str(retry_after_seconds).encode()), (b"cache-control", b"no-store")]
        self._ids = itertools.count(1)
        self._prefix = f"api-503-{os.getpid():x}-"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.limit <= 0 or scope["type"] != "http" or scope["path"] in EXEMPT:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            self.refused += 1
            await self._refuse(scope, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    def _request_id(self, scope: Scope) -> str:
        """The request id: one given by a layer outside (the test app), the caller's, or a counter."""
        given = scope.get("state", {}).get("request_id")
        if given:
            return str(given)
        for name, value in scope["headers"]:
            if name == b"x-request-id" and _SAFE_ID.match(value):
                return str(value.decode("ascii"))
        return f"{self._prefix}{next(self._ids)}"

    async def _refuse(self, scope: Scope, send: Send) -> None:
        """An RFC 9457 problem like every other error of the API, without reading the request."""
        rid = self._request_id(scope)
        body = self._head + json.dumps(scope["path"]).encode() + b', "request_id": ' + \
            json.dumps(rid).encode() + b"}"
        await send({"type": "http.response.start", "status": 503, "headers": [
            *self._headers, (b"content-length", str(len(body)).encode()), (b"x-request-id", rid.encode())]})
        await send({"type": "http.response.body", "body": body})


def install(api: Any, limit: int, retry_after_seconds: int) -> None:
    """Put Admission outside the whole middleware stack Starlette builds for `api` (its error
    handler included), so a refusal runs nothing of the application; `api.state.admission` is
    the layer (its `refused` and `in_flight` counters) once the first request has built it."""
    build = api.build_middleware_stack

    def build_with_admission() -> ASGIApp:
        layer = Admission(build(), limit, retry_after_seconds)
        api.state.admission = layer
        return layer

    api.build_middleware_stack = build_with_admission
