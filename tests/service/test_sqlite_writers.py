"""Issue 14 item 3: on SQLite the writers of one process wait in line for the write lock instead
of polling SQLite's busy handler, so none of them gives up while the others take their turns."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text

from rems.adapters import database
from rems.adapters.sqlite_writers import WriterQueue, connection_class

THREADS, EACH = 8, 4
HOLD_SECONDS = 0.02  # each writer keeps the write lock this long: far beyond the busy timeout


def _engine(path: Path, queued: bool) -> Engine:
    # SQLite's own wait cut to 1 ms: only the queue can keep writers from failing here.
    queue = WriterQueue(timeout=30) if queued else None
    arguments: dict[str, Any] = {"timeout": 0.001}
    if queue is not None:
        arguments["factory"] = connection_class(queue)
    engine = create_engine(f"sqlite:///{path}", connect_args=arguments, pool_size=THREADS)
    event.listen(engine, "connect", database._sqlite_connect)
    event.listen(engine, "begin", lambda connection: database._sqlite_begin(connection, queue))
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS t (n INTEGER)"))
    return engine


def _race(engine: Engine) -> tuple[int, list[Exception]]:
    start, errors = threading.Barrier(THREADS, timeout=10), []

    def write() -> None:
        start.wait()
        for _ in range(EACH):
            try:
                with engine.begin() as connection:
                    connection.execute(text("INSERT INTO t (n) VALUES (1)"))
                    time.sleep(HOLD_SECONDS)
            except Exception as error:  # counted below
                errors.append(error)

    threads = [threading.Thread(target=write) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM t")).scalar_one()), errors


def test_queued_writers_all_commit_where_polling_ones_give_up(tmp_path: Path) -> None:
    queued = _engine(tmp_path / "queued.db", queued=True)
    stored, errors = _race(queued)
    assert errors == [] and stored == THREADS * EACH
    polling = _engine(tmp_path / "polling.db", queued=False)  # the same race without the queue
    stored, errors = _race(polling)
    assert errors and all(database.lost_a_race(e) for e in errors)  # SQLITE_BUSY: it was needed
    assert stored == THREADS * EACH - len(errors)
    queued.dispose()
    polling.dispose()


def test_a_rolled_back_or_abandoned_writer_hands_the_lock_on(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "handover.db", queued=True)
    connection = engine.connect()
    connection.begin()
    connection.execute(text("INSERT INTO t (n) VALUES (1)"))
    connection.close()  # given back to the pool mid-transaction: its reset rolls back
    with engine.begin() as other:  # would wait out the queue's 30 s if the lock were kept
        other.execute(text("INSERT INTO t (n) VALUES (2)"))
    trans = engine.connect()
    trans.begin().rollback()
    trans.close()
    with engine.connect() as reader:
        assert reader.execute(text("SELECT n FROM t")).scalars().all() == [2]
    engine.dispose()
