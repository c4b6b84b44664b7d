"""SQLite writers of one process wait in line (issue 14 item 3).

SQLite has one write lock per database. A writer that finds it taken polls it from SQLite's busy
handler, sleeping in steps up to 100 ms, so with 32 threads writing most of them sleep while the
lock is free, and p99 grows to seconds. Here a process's writers queue on a lock of their own
before `BEGIN IMMEDIATE`, and the one that leaves hands it on as its COMMIT or ROLLBACK returns
(or as its connection closes); other processes still meet SQLite's busy handler, as before.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any


class WriterQueue:
    def __init__(self, timeout: float) -> None:
        self._lock = threading.Lock()
        self._holder: int | None = None  # id() of the DBAPI connection in its write transaction
        self._timeout = timeout

    def enter(self, dbapi_connection: Any) -> None:
        """Wait for this process's turn; after `timeout`, go on to SQLite's own busy wait."""
        if self._lock.acquire(timeout=self._timeout):
            self._holder = id(dbapi_connection)

    def leave(self, dbapi_connection: Any) -> None:
        if self._holder is not None and self._holder == id(dbapi_connection):
            self._holder = None
            self._lock.release()


def connection_class(queue: WriterQueue) -> type[sqlite3.Connection]:
    """sqlite3's connection (`factory=`) that leaves the queue once its transaction has ended."""

    class QueuedConnection(sqlite3.Connection):
        def commit(self) -> None:
            try:
                super().commit()
            finally:
                queue.leave(self)

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                queue.leave(self)

        def close(self) -> None:
            try:
                super().close()
            finally:
                queue.leave(self)

    return QueuedConnection
