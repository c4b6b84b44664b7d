"""The request id of every request: the caller's X-Request-ID, or one made here (issue 14 item 2)."""

from __future__ import annotations

import itertools
import re
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class RequestId:
    """Take a caller's X-Request-ID (or make one), record it in the audit log, echo it back.

    Issue 14 item 2: a made id is this process's random prefix and a counter (`api-` and 16 hex
    digits or more: never reused within a process, a fresh prefix at each start), not a `uuid4` per
    request (an `os.urandom` call, 5 % of a check's samples); the caller's header is found without
    copying the header list into a dict."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._prefix = f"api-{secrets.token_hex(4)}"
        self._count = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope["headers"] if name == b"x-request-id"), None)
        rid = given.decode("latin-1") if given is not None else ""
        if not _SAFE_ID.match(rid):
            rid = f"{self._prefix}{next(self._count):08x}"
        scope.setdefault("state", {})["request_id"] = rid
        echoed = (b"x-request-id", rid.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), echoed]
            await send(message)

        await self.app(scope, receive, send_with_id)
