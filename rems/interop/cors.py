"""CORS for the routes browsers call across origins: CDS Hooks and FHIR (issue 16 item 1).

Only the configured origins (REMS_CORS_ORIGINS, exact matches) get CORS headers; a preflight from
one is answered 204 here, before routing. Any other origin gets no CORS header at all (its
preflight falls through to the route, which answers 405), so the browser refuses the call.
No credentials mode: callers authenticate with an Authorization header, never a cookie.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIXES = ("/cds-services/", "/fhir/")
METHODS = "GET, POST, OPTIONS"
HEADERS = "Authorization, Content-Type, Accept, X-Request-ID, Idempotency-Key"
EXPOSED = "X-Request-ID, Location, WWW-Authenticate"


def _covered(path: str) -> bool:
    return path == "/cds-services" or path.startswith(PREFIXES)


class Cors:
    def __init__(self, app: ASGIApp, origins: Iterable[str], max_age_seconds: int) -> None:
        self.app = app
        self.origins = frozenset(origins)
        self.max_age = str(max_age_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _covered(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        origin = headers.get(b"origin", b"").decode("latin-1")
        allowed = origin in self.origins
        if allowed and scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            await self._preflight(origin, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(b"vary", b"Origin")]
                if allowed:
                    extra += [(b"access-control-allow-origin", origin.encode("latin-1")),
                              (b"access-control-expose-headers", EXPOSED.encode())]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, origin: str, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-methods", METHODS.encode()),
            (b"access-control-allow-headers", HEADERS.encode()),
            (b"access-control-max-age", self.max_age.encode()),
            (b"vary", b"Origin")]})
        await send({"type": "http.response.body", "body": b""})
