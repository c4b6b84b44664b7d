"""One request's service calls: its principal, clock and request id, and the Idempotency-Key."""
# No `from __future__ import annotations` here: FastAPI resolves the annotations of the dependency
# closures below at run time, and a closure's local names are invisible to string annotations.

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, ParamSpec, TypeVar

from anyio import CapacityLimiter, to_thread
from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel

from rems.adapters.uow import UnitOfWork
from rems.api import idempotency
from rems.api.idempotency import Fingerprint
from rems.domain.errors import DomainError, NotFound
from rems.http.auth import Principal, application, bearer, clock, current_principal, refuse, request_id, role
from rems.services.context import Context, Service
from rems.services.dispensing import retry

T = TypeVar("T")
R = TypeVar("R")
P = ParamSpec("P")


@dataclass
class Calls:
    request: Request
    principal: Principal
    key: str | None = None
    seen: Fingerprint | None = None

    def __post_init__(self) -> None:
        self.app = application(self.request)
        self.ctx = Context(self.principal.actor, clock(self.request), request_id(self.request))

    @property
    def actor_id(self) -> str:
        return self.principal.actor_id

    def read(self, render: Callable[[T], R], service: Service[P, T], *args: P.args, **kwargs: P.kwargs) -> R:
        with self.app.uow(write=False) as uow:  # reads never wait for a writer (issue 13 item 8)
            try:
                return render(service(uow, self.ctx, *args, **kwargs))
            except NotFound as error:
                raise self._hidden(error) from None

    async def read_json(self, render: Callable[[T], Any], service: Service[P, T], *args: P.args,
                        **kwargs: P.kwargs) -> Response:
        """`read` for an async route (issue 14 item 2): one hand-off to a worker thread for the unit
        of work, the service and the rendering; `render` gives the JSON-ready body in the route's
        response model's shape, dumped once (no model built, no second validation)."""
        def work() -> bytes:
            body = self.read(render, service, *args, **kwargs)
            return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
        limiter = _readers(self.request)
        # REMS_READ_THREADS=0: on the event loop itself, no hand-off (see docs/hot-path.md)
        body = work() if limiter is None else await to_thread.run_sync(work, limiter=limiter)
        return Response(body, media_type="application/json")

    def create(self, render: Callable[[T], BaseModel], service: Service[P, T], *args: P.args,
               **kwargs: P.kwargs) -> JSONResponse:
        return self._write(201, render, service, *args, **kwargs)

    def change(self, render: Callable[[T], BaseModel], service: Service[P, T], *args: P.args,
               **kwargs: P.kwargs) -> JSONResponse:
        return self._write(200, render, service, *args, **kwargs)

    def _write(self, status: int, render: Callable[[T], BaseModel], service: Service[P, T],
               *args: P.args, **kwargs: P.kwargs) -> JSONResponse:
        actor, key, seen = self.principal.actor, self.key, self.seen
        if key and seen and (first := idempotency.replay(self.app, actor, key, seen)):
            return first
        # Issue 15 item 9: services own their commits here as under the CLI and the workers; the
        # key is claimed by a before-commit hook in the transaction of the first effect.
        uow = UnitOfWork(self.app.sessions, self.app.programs)
        claim = idempotency.Claim(actor, key, seen, self.ctx.now) if key and seen else None

        def attempt() -> dict[str, Any]:
            body: dict[str, Any] = render(service(uow, self.ctx, *args, **kwargs)).model_dump(mode="json")
            if uow.session.in_transaction():  # what a service left uncommitted is kept, as before
                if claim is not None:
                    claim.response = (status, body)
                uow.commit()
            return body

        try:
            with uow:
                if claim is not None:
                    claim.watch(uow.session)
                # Issue 13 item 9: a safety action is retried here as a whole, its commit included.
                safety = retry.applies(service, uow, self.ctx, *args, **kwargs)
                body = retry.until_applied(uow, attempt) if safety else attempt()
        except DomainError as error:
            if claim is not None:
                claim.release(self.app)  # committed part way, then refused: the fixed retry runs
            # A concurrent retry with the same key may have won: answer as it did.
            if key and seen and (first := idempotency.replay(self.app, actor, key, seen)):
                return first
            if isinstance(error, NotFound):
                raise self._hidden(error) from None
            raise
        if claim is not None:
            claim.answer(self.app, status, body)
        return JSONResponse(body, status_code=status)

    def _hidden(self, error: NotFound) -> NotFound:
        """Another actor's record and a missing one look alike to the caller; the log tells them apart."""
        refuse(self.request, self.principal.actor, self.actor_id, 404, "AUTH_NOT_FOUND_OR_NOT_YOURS",
               str(error), "ask only for your own records")
        return error


def _readers(request: Request) -> CapacityLimiter | None:
    """The worker threads async reads hand off to, per application (issue 14 item 2): a few more
    than the cores, so a burst queues for a thread instead of 40 threads thrashing the GIL and
    opening connections past the pool's size; None (REMS_READ_THREADS=0): no hand-off."""
    state = request.app.state
    limiter: CapacityLimiter | None = getattr(state, "readers", None)
    if limiter is None:
        threads = application(request).settings.read_threads
        if not threads:
            return None
        limiter = state.readers = CapacityLimiter(threads)
    return limiter


def reader(name: str) -> Callable[[Request, HTTPAuthorizationCredentials | None], Awaitable[Calls]]:
    guard = role(name)

    async def dependency(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None,
                                                                  Depends(bearer)]) -> Calls:
        # Issue 14 item 2: the principal and the role checked here, as `Depends(role(name))` would
        # (the same functions, the same refusals), without two more levels of dependency solving;
        # no I/O on a cached token: no hand-off to a worker thread.
        return Calls(request, await guard(request, await current_principal(request, credentials)))
    return dependency


def writer(name: str) -> Callable[[Request, Principal, Fingerprint, str | None], Awaitable[Calls]]:
    guard = role(name)

    # Issue 14 item 3: `async`, as `reader`'s: building Calls does no I/O, so no hand-off to a worker
    # thread before the (sync) route's own.
    async def dependency(request: Request, principal: Annotated[Principal, Depends(guard)],
                         seen: Annotated[Fingerprint, Depends(idempotency.fingerprint)],
                         key: Annotated[str | None, Header(
                             alias=idempotency.HEADER, pattern=idempotency.PATTERN,
                             description="Optional: a retry with the same key and body returns the first "
                                         "response and changes nothing; reused with another body: 422")] = None,
                         ) -> Calls:
        return Calls(request, principal, key, seen)
    return dependency
