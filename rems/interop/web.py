"""What the interop routers share: who calls (same bearer tokens, audited refusals), in which context.

A refused call is not raised as a problem+json here: each wire format answers in its own shape
(OperationOutcome, a CDS response, an NCPDP Error), so the dependency returns the refusal.
"""
# No `from __future__ import annotations`: FastAPI reads the dependency's annotations at run time.

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from rems.bootstrap import App
from rems.http.auth import Principal, application, authenticated, bearer, clock, refuse, request_id
from rems.http.errors import ApiError
from rems.interop.etasu import Caller
from rems.services.context import Context

MAX_BODY = 512 * 1024  # bytes: larger messages are refused before parsing


@dataclass(frozen=True)
class Denied:
    status: int
    detail: str


@dataclass
class Call:
    request: Request
    principal: Principal
    issuer: str | None = None  # the EHR's `iss` when it called with its JWT (rems/interop/cds_admit.py)

    @property
    def app(self) -> App:
        return application(self.request)

    @property
    def caller(self) -> Caller:
        return Caller(self.principal.role, self.principal.actor_id)

    @cached_property
    def ctx(self) -> Context:
        return Context(self.principal.actor, clock(self.request), request_id(self.request))

    def hidden(self, detail: str) -> None:
        """Audit an attempt on another actor's record (answered like an unknown one)."""
        refuse(self.request, self.principal.actor, self.principal.actor_id, 404,
               "AUTH_NOT_FOUND_OR_NOT_YOURS", detail, "ask only for your own records")

    def refused(self, code: str, detail: str, remedy: str) -> None:
        """Audit a refusal answered in the wire format's own shape (a card, not a status)."""
        refuse(self.request, self.principal.actor, self.principal.actor_id, 403, code, detail, remedy)


def caller(*roles: str) -> Callable[[Request, HTTPAuthorizationCredentials | None], Call | Denied]:
    """Admit bearer tokens of these roles; anything else is a (audited) Denied."""
    def dependency(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None,
                                                            Depends(bearer)]) -> Call | Denied:
        try:
            principal = authenticated(request, credentials)
        except ApiError as error:
            return Denied(error.status, error.detail)
        if principal.role not in roles:
            refused = refuse(request, principal.actor, principal.actor_id, 403, "AUTH_ROLE_FORBIDDEN",
                           f"this route is for the {' or '.join(roles)} role; the token is for "
                           f"{principal.role}", f"use a {' or '.join(roles)} token")
            return Denied(403, refused.detail)
        return Call(request, principal)
    dependency.__name__ = f"{'_'.join(roles)}_caller"
    return dependency


async def body_of(request: Request) -> bytes | None:
    """The request body, or None when it is larger than MAX_BODY."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return body
