"""Bearer tokens to a principal (one actor, one role); every refusal of an actor is audited (entity
"api"), every anonymous one counted (rems/http/anonymous.py). A usable token's principal is cached for
seconds (rems/http/principals.py, docs/hot-path.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from rems.bootstrap import App
from rems.domain.access import token_hash
from rems.domain.requirements import need
from rems.http.anonymous import RATE_LIMITED, counter_for
from rems.http.errors import ApiError
from rems.http.principals import PrincipalCache
from rems.metrics import REFUSALS
from rems.services.access.tokens import authenticate
from rems.services.context import Context
from rems.services.lifecycle import audit

bearer = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="A token from `rems token create --role … --actor …`")


@dataclass(frozen=True)
class Principal:
    role: str
    actor_id: str
    token_id: str

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.actor_id}"


def application(request: Request) -> App:
    app: App = request.app.state.rems
    return app


def clock(request: Request) -> datetime:
    now: datetime = request.app.state.clock()
    return now


def request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def refuse(request: Request, actor: str, subject: str, status: int, code: str, detail: str,
           remedy: str) -> ApiError:
    """Record the refusal and return it: an actor's in its own audited transaction (it must outlive
    the request); an anonymous one counted, and past the rate a 429 raised (issue 15 item 8)."""
    if actor == "anonymous":
        count_anonymous(request, code)
    else:
        reason = need(False, "AUTH", code, f"{request.method} {request.url.path}: {detail}", remedy)
        with application(request).uow() as uow:
            audit(uow, Context(actor, clock(request), request_id(request)), "api", subject,
                  "access_refused", None, None, [reason])
            uow.commit()
    REFUSALS.labels("AUTH", code).inc()
    kind = {401: "unauthenticated", 403: "forbidden"}.get(status, "not-found")
    headers = {"WWW-Authenticate": 'Bearer realm="rems"'} if status == 401 else None
    return ApiError(status, kind, detail, headers=headers)


def count_anonymous(request: Request, code: str) -> None:
    """Count one anonymous request that will write (a refusal, or a sign-in's first audited step) at
    the per-client rate of issue 15 item 8: past it, a 429 with Retry-After and nothing written."""
    route = getattr(request.scope.get("route"), "path", None) or "unmatched"
    client = request.client.host if request.client else "unknown"
    wait = counter_for(application(request)).refused(clock(request), client, route, code)
    if wait is not None:
        REFUSALS.labels("AUTH", RATE_LIMITED).inc()
        raise ApiError(429, "rate-limited", f"too many refused requests from {client}; retry in {wait} s",
                       headers={"Retry-After": str(wait)})


def principals(request: Request) -> PrincipalCache[Principal]:
    """This application's principal cache, made at its first request (issue 14 item 2)."""
    state = request.app.state
    found: PrincipalCache[Principal] | None = getattr(state, "principals", None)
    if found is None:
        found = state.principals = PrincipalCache(application(request).settings.token_cache_seconds)
    return found


def _cached(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal | None:
    if credentials is None:
        return None
    return principals(request).get(token_hash(credentials.credentials), clock(request))


def authenticated(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None,
                                                           Depends(bearer)]) -> Principal:
    if credentials is None:
        raise refuse(request, "anonymous", "anonymous", 401, "AUTH_TOKEN_MISSING",
                     "an Authorization: Bearer token is required", "send a token from `rems token create`")
    if (known := _cached(request, credentials)) is not None:
        return known
    with application(request).uow(write=False) as uow:
        token, why = authenticate(uow, clock(request), credentials.credentials)
        principal = Principal(token.role, token.actor_id, token.id) if token else None
        if principal is not None and token is not None and not why:
            principals(request).put(token.token_hash, principal, token.expires_at)
    if principal is None or why:
        actor, subject = (principal.actor, principal.actor_id) if principal else ("anonymous", "anonymous")
        raise refuse(request, actor, subject, 401, f"AUTH_TOKEN_{why.upper()}", f"token {why}",
                     "ask the program administrator for a new token")
    return principal


async def current_principal(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None,
                                                                     Depends(bearer)]) -> Principal:
    """`authenticated` as an async dependency: a cached principal costs no hand-off to a worker
    thread; a database read (or a refusal, audited) takes one."""
    if (known := _cached(request, credentials)) is not None:
        return known
    return await run_in_threadpool(authenticated, request, credentials)


def role(name: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting only tokens of one role: another role gets 403."""
    async def dependency(request: Request,
                         principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role != name:
            raise await run_in_threadpool(
                refuse, request, principal.actor, principal.actor_id, 403, "AUTH_ROLE_FORBIDDEN",
                f"this route is for the {name} role; the token is for {principal.role}", f"use a {name} token")
        return principal
    dependency.__name__ = f"{name}_principal"
    return dependency
