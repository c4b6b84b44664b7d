"""`rems notifications ready`: the compose healthcheck of workers and beat (issue 15 item 4).
Exit 0 when the database is at head and the broker answers; exit 6 naming what is wrong."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from tests.integration.test_cli import rems
from tests.workers.conftest import redis_url  # noqa: F401  (a real redis-server for the session)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port  # nobody listens once the socket is closed


def test_a_worker_is_ready_with_the_schema_at_head_and_the_broker_answering(db: Path, tmp_path: Path) -> None:
    done = rems(db, "--json", "notifications", "ready", env={"REMS_BROKER_URL": f"sqla+sqlite:///{tmp_path}/b.db"})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"status": "ready"}


def test_a_worker_on_a_real_redis_is_ready(db: Path, redis_url: str) -> None:  # noqa: F811
    done = rems(db, "notifications", "ready", env={"REMS_BROKER_URL": redis_url})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ready")


def test_a_worker_without_its_broker_or_schema_is_not_ready_and_says_why(tmp_path: Path) -> None:
    broker = f"redis://127.0.0.1:{_closed_port()}/0"
    done = rems(tmp_path / "empty.db", "--json", "notifications", "ready", env={"REMS_BROKER_URL": broker})
    assert done.returncode == 6
    message = json.loads(done.stdout)["message"]
    assert "schema: at nothing" in message and "broker: unreachable" in message
