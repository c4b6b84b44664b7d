"""Who acts, when, and under which request: the one argument every use case takes besides its
unit of work (T1: `now` is UTC, read by the entry point, never below it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


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
