"""Refusals of requests without an identity cost nothing (issue 15 item 8).

Nobody is accountable for an anonymous request, so it is not an audit entry (the chain, its lock
and its permanence are for actors): it is counted per minute, route and code in memory and written
to `anonymous_refusals` at most every REMS_ANONYMOUS_REFUSALS_FLUSH_SECONDS (one upsert per bucket,
never the audit chain), and a client refused more than REMS_ANONYMOUS_REFUSALS_PER_MINUTE times in
a minute gets 429 with Retry-After until the minute ends. Counts still in memory when a process
dies are lost (at most one flush interval's worth); each process limits on its own."""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite

from rems.adapters.orm import anonymous_refusals as table
from rems.bootstrap import App
from rems.metrics import ANONYMOUS_REFUSALS

RATE_LIMITED = "AUTH_RATE_LIMITED"
log = logging.getLogger("rems.api.anonymous")  # the name operators filter on, kept by the move
Bucket = tuple[datetime, str, str]


class AnonymousRefusals:
    """One per engine and process: the rate limit's window and the counts not yet written."""

    def __init__(self, engine: Engine, per_minute: int, flush_seconds: float) -> None:
        self.engine = weakref.ref(engine)  # the counter must not keep a disposed engine alive
        self.per_minute, self.flush_seconds = per_minute, flush_seconds
        self.lock = threading.Lock()
        self.window: datetime | None = None
        self.clients: Counter[str] = Counter()
        self.pending: Counter[Bucket] = Counter()
        self.flushed_at = time.monotonic()

    def refused(self, now: datetime, client: str, route: str, code: str) -> int | None:
        """Count one refusal; the seconds to wait when `client` is over the rate, else None."""
        minute = now.replace(second=0, microsecond=0)
        with self.lock:
            if self.window != minute:
                self.window, self.clients = minute, Counter()
            self.clients[client] += 1
            over = self.clients[client] > self.per_minute
            code = RATE_LIMITED if over else code
            self.pending[(minute, route, code)] += 1
            due = time.monotonic() - self.flushed_at >= self.flush_seconds or len(self.pending) > 1000
        ANONYMOUS_REFUSALS.labels(route, code).inc()
        if due:
            self.flush()
        return max(1, 60 - now.second) if over else None

    def flush(self) -> None:
        with self.lock:
            taken, self.pending = self.pending, Counter()
            self.flushed_at = time.monotonic()
        engine = self.engine()
        if not taken or engine is None:
            return
        rows = [{"minute": m, "route": r, "code": c, "count": n} for (m, r, c), n in taken.items()]
        insert: Any = (postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert)(table)
        statement = insert.values(rows).on_conflict_do_update(
            index_elements=["minute", "route", "code"], set_={"count": table.c.count + insert.excluded.count})
        try:
            with engine.begin() as connection:
                connection.execute(statement)
        except Exception as error:  # keep the counts for the next flush; never fail the request
            log.warning("anonymous refusal counts not written (%s); kept for the next flush",
                        type(error).__name__)
            with self.lock:
                self.pending.update(taken)


_counters: weakref.WeakKeyDictionary[Engine, AnonymousRefusals] = weakref.WeakKeyDictionary()
_made = threading.Lock()


def counter_for(app: App) -> AnonymousRefusals:
    with _made:
        found = _counters.get(app.engine)
        if found is None:
            s = app.settings
            found = AnonymousRefusals(app.engine, s.anonymous_refusals_per_minute,
                                      s.anonymous_refusals_flush_seconds)
            _counters[app.engine] = found
        return found


@atexit.register
def _flush_all() -> None:  # a process that ends normally (SIGTERM to uvicorn) writes what it counted
    for counter in list(_counters.values()):
        counter.flush()


def stored(app: App) -> Counter[Bucket]:
    """Every count written so far, after writing what is pending (tests, reports)."""
    counter_for(app).flush()
    with app.engine.connect() as connection:
        return Counter({(r.minute, r.route, r.code): r.count for r in connection.execute(table.select())})
