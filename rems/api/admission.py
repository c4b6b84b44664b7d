"""Admission control per process (issue 14 item 4): at most N requests in flight; the next gets a
503 with `Retry-After` at once instead of a place in a queue that only grows.

Without it, a process offered twice what it serves keeps accepting: every request waits behind
all the others, the clients time out, retry and add more, memory grows with the queue and the
process serves less and less (the issue measured 21–50 req/s out of ~110 at 2× and 30 s to
recover). With it, the admitted requests wait behind at most N others (so their latency is
bounded by N × the service time), the rest are told to come back (`Retry-After`, RFC 9110 §10.2.3)
before anything is read or parsed, and the process serves at its capacity throughout.

The limit is per process (`REMS_MAX_CONCURRENT_REQUESTS`; 0 turns it off): a server of several
workers or replicas admits N per process. The probes (`/healthz`, `/readyz`, `/metrics`) are never
refused, so an overloaded process is not mistaken for a dead one and restarted. One event loop
runs this middleware per process, so a plain counter is exact: nothing awaits between the test and
the increment.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

EXEMPT = frozenset({"/healthz", "/readyz", "/metrics"})
KIND = "urn:rems:problem:overloaded"


class Admission:
    """ASGI middleware: admit up to `limit` HTTP requests at once, answer the rest 503 at once."""

    def __init__(self, app: ASGIApp, limit: int, retry_after_seconds: int = 1) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0
        self.refused = 0  # since the process started (for metrics and the benchmark)
        self._detail = (f"this server process is answering its limit of {limit} requests at once; "
                        f"retry after {retry_after_seconds} s")
        self._retry_after = str(retry_after_seconds).encode()

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

    async def _refuse(self, scope: Scope, send: Send) -> None:
        """An RFC 9457 problem like every other error of the API, without reading the request."""
        body = json.dumps({"type": KIND, "title": "Service Unavailable", "status": 503,
                           "detail": self._detail, "instance": scope["path"],
                           "request_id": scope.get("state", {}).get("request_id")}).encode()
        await send({"type": "http.response.start", "status": 503, "headers": [
            (b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode()),
            (b"retry-after", self._retry_after), (b"cache-control", b"no-store")]})
        await send({"type": "http.response.body", "body": body})
