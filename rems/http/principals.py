"""A per-process cache of the principal a bearer token names (issue 14 item 2).

A token found usable is trusted again, without a database read, for `seconds` (the setting
REMS_TOKEN_CACHE_SECONDS, 5 by default, 0 to switch the cache off). That is the bound on
revocation: a revoked token is refused by every process at most `seconds` after the revocation
commits (docs/hot-path.md). A token's expiry is honoured exactly: an entry never outlives its
token. Only usable tokens are kept; every refusal is decided (and audited) from the database.
Keys are the tokens' SHA-256 digests, never the secrets themselves.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Generic, TypeVar

V = TypeVar("V")
MAX_ENTRIES = 10_000  # one per token in use; past it the oldest entries go first


class PrincipalCache(Generic[V]):
    def __init__(self, seconds: float, ticker: Callable[[], float] = time.monotonic,
                 max_entries: int = MAX_ENTRIES) -> None:
        self.seconds = seconds
        self._ticker = ticker  # monotonic: a wall clock set back must not stretch the bound
        self._max = max_entries
        self._entries: dict[str, tuple[float, datetime, V]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str, now: datetime) -> V | None:
        """The principal of a token found usable less than `seconds` ago and not expired at `now`."""
        entry = self._entries.get(digest)
        if entry is None:
            return None
        until, expires_at, principal = entry
        if self._ticker() >= until or now >= expires_at:
            self._entries.pop(digest, None)
            return None
        return principal

    def put(self, digest: str, principal: V, expires_at: datetime) -> None:
        if self.seconds <= 0:
            return
        with self._lock:
            while len(self._entries) >= self._max:
                self._entries.pop(next(iter(self._entries)))
            self._entries[digest] = (self._ticker() + self.seconds, expires_at, principal)
