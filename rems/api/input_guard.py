"""What no request may carry, whatever the route: control characters in its address, a novel for a
body (issue 15 item 6; docs/input.md). Bodies are checked by their schemas and parsers."""

from __future__ import annotations

from fastapi import Request
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rems.domain.errors import InvalidInput
from rems.domain.inputs import control_character

MAX_QUERY_VALUE = 2000  # characters: ids, dates and filters are far shorter


async def plain_address(request: Request) -> None:
    """Path and query parameters reach the database: a control character (PostgreSQL refuses NUL
    outright) is a 422 naming the parameter, refused before authentication or any service runs."""
    for name, value in (*request.path_params.items(), *request.query_params.multi_items()):
        if isinstance(value, str):
            found = control_character(name) or control_character(value)
            if found is not None:
                raise InvalidInput(name, f"must not contain control characters (found {found})")
            if len(value) > MAX_QUERY_VALUE:
                raise InvalidInput(name, f"is too long ({MAX_QUERY_VALUE} characters at most)")


class TooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"body: larger than {limit} bytes")


class BodyLimit:
    """Refuse a body over `limit` bytes (413) while it is read, declared or streamed: the route's
    exception handlers answer, so each interface keeps its own error format. Routes that read
    their body with their own limit (`exempt` prefixes: FHIR, CDS Hooks, NCPDP) answer in their
    wire format themselves."""

    def __init__(self, app: ASGIApp, limit: int, exempt: tuple[str, ...] = ()) -> None:
        self.app, self.limit, self.exempt = app, limit, exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        limit = self.limit
        declared = dict(scope["headers"]).get(b"content-length", b"")
        too_large = declared.isdigit() and int(declared) > limit
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            if too_large:
                raise TooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLarge(limit)
            return message

        await self.app(scope, limited, send)
