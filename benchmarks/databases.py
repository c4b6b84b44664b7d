"""Where a benchmark runs: a SQLite file on disk, or a throwaway PostgreSQL cluster on disk.

Both commit durably, as production does: SQLite in WAL mode with synchronous=FULL (set by
rems.adapters.database.make_engine), PostgreSQL with fsync and synchronous_commit on. The test
suite's clusters (tests/pg.py) turn durability off and live in /dev/shm; a benchmark of the write
path on those would measure nothing real, so this module starts one on disk with the same code.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from tests import pg

DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on",
           "shared_buffers": "256MB", "max_connections": "100", "max_wal_size": "1GB",
           "work_mem": "16MB"}


class DurableCluster(pg.Cluster):
    """tests/pg.py's Cluster, on disk and durable."""

    def _options(self) -> str:
        settings = {**pg.SETTINGS, **DURABLE, "port": str(self.port),
                    "unix_socket_directories": str(self.directory)}
        return " ".join(f"-c {key}={value}" for key, value in settings.items())

    @classmethod
    def start_on_disk(cls) -> DurableCluster:
        sudo = pg._as_server_user()
        directory = Path(tempfile.mkdtemp(prefix="rems-bench-pg-"))  # /tmp: a real disk here
        cluster = cls(directory, pg._free_port(), sudo)
        try:
            if sudo:
                os.chown(directory, sudo["user"], sudo["group"])
            cluster._run("initdb", "--pgdata", str(cluster.data), "--username", pg.SUPERUSER,
                         "--auth", "trust", "--encoding", "UTF8", "--locale", "C", "--no-sync")
            cluster._pg_ctl("start", "--wait", "--timeout", "60", "--log", str(cluster.log),
                            "-o", cluster._options())
        except BaseException:
            cluster.stop()
            raise
        return cluster


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    """A fresh, empty database of `kind` ("sqlite" or "postgresql"); yields its URL."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    if kind != "postgresql":
        raise ValueError(f"unknown database {kind!r}: sqlite or postgresql")
    missing = pg.missing_binaries()
    if missing:
        raise SystemExit(f"PostgreSQL binaries missing ({', '.join(missing)}): install PostgreSQL "
                         "or run with --databases sqlite")
    cluster = DurableCluster.start_on_disk()
    try:
        yield cluster.url(cluster.create_database("rems_bench"))
    finally:
        cluster.stop()


def analyze(url: str) -> None:
    """Fresh statistics after a bulk load, so the planner sees the population (autovacuum is off)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("VACUUM ANALYZE" if url.startswith("postgresql") else "ANALYZE"))
    finally:
        engine.dispose()
