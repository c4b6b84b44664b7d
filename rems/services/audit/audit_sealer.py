"""Who chains committed audit entries, and when (issue 14 item 3; docs/audit.md).

`inline`: the process seals right after each commit that wrote entries, in a short transaction
of its own (tests, and any process that wants its entries chained before it goes on).
`background`: one thread per process seals as soon as a commit wakes it, every batch of commits
that arrived meanwhile in one transaction, and also every `interval` seconds when idle, which
chains what a process that died between its commit and its seal left behind. A process that
started the thread drains it at exit. `rems audit verify` seals before it walks the chain.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from typing import Literal

from rems.services.ports.audit import Sealing

log = logging.getLogger(__name__)
Mode = Literal["inline", "background"]


class Sealer:
    def __init__(self, store: Sealing, mode: Mode = "inline", interval: float = 0.5) -> None:
        self.store, self.mode, self.interval = store, mode, interval
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0  # the process that started the thread: a forked child starts its own
        self._lock = threading.Lock()
        self._failing = False  # one log line per outage, not one per round

    def committed(self) -> None:
        """A transaction that wrote audit entries has committed."""
        if self.mode == "inline":
            self._seal_quietly(probe=False)  # this commit wrote entries: no idle look first
            return
        self._start()
        self._wake.set()

    def drain(self) -> int:
        """Chain everything committed so far, now, in this thread; how many entries."""
        return self.store.seal_all()

    def close(self) -> None:
        """Stop the thread (if any) and chain what is left."""
        thread = self._thread
        if thread is not None:
            self._stop.set()
            self._wake.set()
            thread.join(timeout=30)
            self._thread = None
            atexit.unregister(self.close)
        self._seal_quietly()

    def _start(self) -> None:
        if self._thread is not None and self._pid == os.getpid():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="rems-audit-sealer", daemon=True)
                self._thread.start()
                atexit.register(self.close)

    def _run(self) -> None:
        while not self._stop.is_set():
            # While the database is unreachable nothing can be written either: look less often.
            woken = self._wake.wait(min(self.interval * 20, 10.0) if self._failing else self.interval)
            self._wake.clear()
            self._seal_quietly(probe=not woken)  # woken by a commit: entries are pending

    def _seal_quietly(self, probe: bool = True) -> None:
        # The writer's transaction is committed whatever happens here: an entry left pending is
        # chained by the next seal (this process's or another's), and verify reports a stuck one.
        try:
            self.store.seal_all(probe=probe)
        except Exception:
            if not self._failing:
                log.exception("audit entries left pending; the next seal retries them")
            self._failing = True
        else:
            if self._failing:
                log.warning("audit sealing works again")
            self._failing = False
