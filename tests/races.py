"""Racing attempts on real threads, for the concurrency tests (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def race(*attempts: Callable[[], Any]) -> list[Any]:
    """Start every attempt at once on its own thread; each result or exception, in order."""
    start = threading.Barrier(len(attempts), timeout=10)
    results: list[Any] = [None] * len(attempts)

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = attempts[index]()
        except Exception as error:
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,), name=f"racer-{i}") for i in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a racer is stuck (a lock never released?)"
    return results
