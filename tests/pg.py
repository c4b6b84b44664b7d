"""A throwaway PostgreSQL cluster for one test session (one per xdist worker).

`initdb` into a fresh temporary directory (in /dev/shm where there is one: copying a database
there is several times faster than on disk), a server on 127.0.0.1 at a free port with its unix
socket in that directory, trust authentication (nothing but loopback reaches it), durability off
(fsync, synchronous_commit, full_page_writes: the data dies with the session anyway). initdb and
pg_ctl refuse to run as root, as CI does: then every server binary runs as the `postgres` OS user
(.ci/run makes sure it exists) and the directory belongs to it.

Each test gets its own database, created from a migrated template (CREATE DATABASE ... TEMPLATE
copies the files, tens of milliseconds) and dropped after the test.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

DATABASES_ENV = "REMS_TEST_DATABASES"  # e.g. "sqlite" to run without PostgreSQL, on purpose
KNOWN_DATABASES = ("sqlite", "postgresql")
BINARIES = ("initdb", "pg_ctl")
SERVER_USER = "postgres"  # the OS user the server runs as when the tests run as root
SUPERUSER = "rems"  # the cluster's bootstrap superuser, the one the tests connect as
SETTINGS = {"listen_addresses": "127.0.0.1", "fsync": "off", "synchronous_commit": "off",
            "full_page_writes": "off", "autovacuum": "off", "max_connections": "60",
            "shared_buffers": "32MB", "max_wal_size": "128MB", "deadlock_timeout": "200ms",
            "log_min_messages": "warning"}
MEMORY_DIR = Path("/dev/shm")


class ClusterError(RuntimeError):
    """The cluster could not be created, started or stopped; the message carries its log."""


def selected_databases() -> tuple[str, ...]:
    """The databases the suite runs on: both unless REMS_TEST_DATABASES names fewer."""
    raw = os.environ.get(DATABASES_ENV, ",".join(KNOWN_DATABASES))
    chosen = tuple(name.strip() for name in raw.split(",") if name.strip())
    unknown = sorted(set(chosen) - set(KNOWN_DATABASES))
    if not chosen or unknown:
        raise ValueError(f"{DATABASES_ENV}={raw!r}: name one or more of {', '.join(KNOWN_DATABASES)}")
    return chosen


def binary(name: str) -> str | None:
    """A PostgreSQL server binary: on PATH, or where Debian's packages put it (not on PATH)."""
    found = shutil.which(name)
    if found:
        return found
    debian = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
                    key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0)
    return str(debian[-1]) if debian else None


def missing_binaries() -> list[str]:
    return [name for name in BINARIES if binary(name) is None]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _as_server_user() -> dict[str, Any]:
    """subprocess arguments that drop root to the server user; nothing when not root."""
    if os.geteuid() != 0:
        return {}
    try:
        user = pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise ClusterError(f"running as root, PostgreSQL needs the OS user {SERVER_USER!r}: "
                           f"create it (`useradd --system {SERVER_USER}`; .ci/run does)") from None
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


class Cluster:
    def __init__(self, directory: Path, port: int, sudo: dict[str, Any]) -> None:
        self.directory, self.port, self._sudo = directory, port, sudo
        self.data, self.log = directory / "data", directory / "server.log"
        self._copy_strategy = ""

    # -- lifecycle ---------------------------------------------------------------------------
    @classmethod
    def start(cls, attempts: int = 3) -> Cluster:
        sudo = _as_server_user()
        in_memory = MEMORY_DIR.is_dir() and os.access(MEMORY_DIR, os.W_OK)
        directory = Path(tempfile.mkdtemp(prefix="rems-pg-", dir=MEMORY_DIR if in_memory else None))
        cluster = cls(directory, _free_port(), sudo)
        try:
            if sudo:
                os.chown(directory, sudo["user"], sudo["group"])
            cluster._run("initdb", "--pgdata", str(cluster.data), "--username", SUPERUSER,
                         "--auth", "trust", "--encoding", "UTF8", "--locale", "C", "--no-sync")
            for attempt in range(attempts):  # another process may take the port between probes
                try:
                    cluster._pg_ctl("start", "--wait", "--timeout", "60", "--log", str(cluster.log),
                                    "-o", cluster._options())
                    cluster._copy_strategy = cluster._strategy()
                    return cluster
                except ClusterError:
                    if attempt == attempts - 1:
                        raise
                    cluster.port = _free_port()
        except BaseException:
            cluster.stop()
            raise
        raise AssertionError("unreachable")

    def stop(self) -> None:
        """Stop the server (immediately: nothing in it is kept) and remove its directory."""
        if (self.data / "postmaster.pid").exists():
            with suppress(ClusterError):  # already gone: the directory still goes
                self._pg_ctl("stop", "--wait", "--mode", "immediate")
        shutil.rmtree(self.directory, ignore_errors=True)

    def _options(self) -> str:
        settings = {**SETTINGS, "port": str(self.port), "unix_socket_directories": str(self.directory)}
        return " ".join(f"-c {key}={value}" for key, value in settings.items())

    def _pg_ctl(self, *args: str) -> None:
        self._run("pg_ctl", "--pgdata", str(self.data), *args)

    def _run(self, *command: str) -> None:
        command = (binary(command[0]) or command[0], *command[1:])
        done = subprocess.run(command, cwd=self.directory, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=120, check=False, **self._sudo)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""
            raise ClusterError(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}"
                               f"{done.stderr}{log}")

    # -- databases ---------------------------------------------------------------------------
    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    @contextmanager
    def _admin(self) -> Iterator[Connection]:
        engine = create_engine(self.url("postgres"), poolclass=NullPool,
                               isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                yield connection
        finally:
            engine.dispose()

    def _strategy(self) -> str:
        """PostgreSQL 15+ can copy a template's files whole, faster than WAL-logging each block."""
        with self._admin() as connection:
            version = int(connection.execute(text("SHOW server_version_num")).scalar_one())
        return " STRATEGY FILE_COPY" if version >= 150000 else ""

    def create_database(self, name: str | None = None, template: str | None = None) -> str:
        name = name or f"test_{uuid.uuid4().hex[:16]}"
        clause = f" TEMPLATE {template}{self._copy_strategy}" if template else ""
        with self._admin() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        return name

    def drop_database(self, name: str) -> None:
        with self._admin() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
