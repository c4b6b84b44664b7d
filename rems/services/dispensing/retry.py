"""Safety actions always take effect (issue 13 item 9; R3, R12, R25, R30).

A suspension, a revocation, a positive test, a pregnancy report or a missed period that meets a
concurrent change (a row another transaction changed first, a deadlock, a busy database) is run
again from the start on the same unit of work: rolled back (which also drops the audit entries it
staged, rems/adapters/audit_chain.py), after a short jittered pause, a bounded number of times.
Each attempt is the whole use case, so an attempt that lost wrote nothing and the one that wins
writes everything once; an API call's Idempotency-Key is stored in the winning attempt only.
"""

from __future__ import annotations

import functools
import inspect
import random
import time
from collections.abc import Callable, Mapping
from typing import Any, Concatenate, ParamSpec, TypeVar

from rems.adapters.uow import UnitOfWork
from rems.services.context import Context

P = ParamSpec("P")
T = TypeVar("T")

ATTEMPTS = 12  # enough for a burst of writers on one record; the waits add up to about 2 s
FIRST_PAUSE_SECONDS = 0.005
LONGEST_PAUSE_SECONDS = 0.25
# No new attempt after this long: a writer that already waited out SQLite's busy timeout (30 s)
# or PostgreSQL's lock timeout is not made to wait that long again and again.
BUDGET_SECONDS = 10.0
_MARK = "rems_always_applied"  # the predicate of a use case decorated below


def pause(attempt: int) -> float:
    """Full jitter on a doubling ceiling: racers that collided do not collide again in step."""
    return random.uniform(0, min(LONGEST_PAUSE_SECONDS, FIRST_PAUSE_SECONDS * 2 ** attempt))


def until_applied(uow: UnitOfWork, attempt: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """Run `attempt` (one whole use case on `uow`) until it is not beaten by a concurrent change."""
    store, started = uow.attempts, time.monotonic()  # the store's side: rems/adapters/attempts.py
    store.start()
    try:
        for number in range(1, attempts + 1):
            try:
                return attempt()
            except Exception as error:
                spent = time.monotonic() - started > BUDGET_SECONDS
                if number == attempts or spent or not store.lost_race(error):
                    raise
                store.rollback()
                uow.audit.discard_pending()  # the next attempt stages its own entries
                time.sleep(pause(number))
        raise AssertionError("unreachable")
    finally:
        store.stop()


def _fresh(uow: UnitOfWork) -> bool:
    """Nothing of this unit of work would be lost by a rollback: the use case is all of it."""
    return not (uow.attempts.running() or uow.attempts.pending() or uow.audit.pending())


def always_applied(when: Callable[[Mapping[str, Any]], bool] | None = None) -> Callable[
        [Callable[Concatenate[UnitOfWork, Context, P], T]], Callable[Concatenate[UnitOfWork, Context, P], T]]:
    """Decorate a safety use case `(uow, ctx, ...)`: retried until applied (when `when(arguments)`,
    given its arguments by name, holds). Called inside a larger unit of work, it runs once."""

    def decorate(use_case: Callable[Concatenate[UnitOfWork, Context, P], T]
                 ) -> Callable[Concatenate[UnitOfWork, Context, P], T]:
        signature = inspect.signature(use_case)

        def applies(*args: Any, **kwargs: Any) -> bool:
            return when is None or when(signature.bind(*args, **kwargs).arguments)

        def run(uow: UnitOfWork, ctx: Context, /, *args: P.args, **kwargs: P.kwargs) -> T:
            if not (_fresh(uow) and applies(uow, ctx, *args, **kwargs)):
                return use_case(uow, ctx, *args, **kwargs)
            return until_applied(uow, lambda: use_case(uow, ctx, *args, **kwargs))

        functools.update_wrapper(run, use_case)
        setattr(run, _MARK, applies)
        return run

    return decorate


def applies(use_case: Callable[P, Any], *args: P.args, **kwargs: P.kwargs) -> bool:
    """Is this call of `use_case` (uow, ctx, ...) a safety action that must be retried? For an
    entry point that commits after the use case returns (the API) and retries the whole of it."""
    predicate = getattr(use_case, _MARK, None)
    return predicate is not None and bool(predicate(*args, **kwargs))
