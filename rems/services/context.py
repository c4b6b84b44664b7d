"""Who acts, when, and under which request: the one argument every use case takes besides its
unit of work (T1: `now` is UTC, read by the entry point, never below it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Concatenate, ParamSpec, TypeVar

from rems.services.ports import UnitOfWork

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class Context:
    """Who acts, when, and under which request: every service call carries one."""

    actor: str
    now: datetime
    request_id: str | None = None

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("Context.now must be timezone-aware UTC")
        # T1: instants are UTC; a zone's DST must never stretch a window computed from `now`.
        object.__setattr__(self, "now", self.now.astimezone(UTC))


# A use case as the entry points call it: its unit of work, its Context, then its own arguments.
# The entry points' helpers (`Calls.read/create/change`, the dashboard's `Page.run`, the CLI's
# `call`) take `Service[P, T]` with `*args: P.args, **kwargs: P.kwargs`, so mypy checks each call's
# arguments against the use case's signature (issue 19 item 3).
Service = Callable[Concatenate[UnitOfWork, Context, P], T]
