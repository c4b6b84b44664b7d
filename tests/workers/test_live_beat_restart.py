"""Issue 15 item 5, against a real redis-server this test starts, SIGKILLs and starts again (no
persistence: the restart forgets the lock and the schedule): beat sends a first sweep at start,
lives through the outage, reconnects, takes its lock again and goes on firing."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import redis

from tests.workers.conftest import free_port, start_redis, wait_for
from tests.workers.test_live_beat import beat

LOCK = "rems:redbeat:lock"


def queued(client: redis.Redis) -> list[str]:
    """The task names waiting in the `rems` queue (kombu's Redis transport: one JSON per message)."""
    return [json.loads(raw)["headers"]["task"] for raw in client.lrange("rems", 0, -1)]


def test_beat_sweeps_at_start_and_survives_a_redis_restart_taking_its_lock_again(tmp_path: Path) -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    server = start_redis(port, tmp_path)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("REMS_")}, "REMS_ENV": "test",
           "REMS_BROKER_URL": url, "REMS_DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}",
           "REMS_RELAY_INTERVAL_SECONDS": "1", "REMS_SWEEP_INTERVAL_SECONDS": "3600"}
    log = tmp_path / "beat.log"
    process = beat(env, log)
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        started = time.monotonic()
        # A first sweep at once, not after the hour of REMS_SWEEP_INTERVAL_SECONDS.
        wait_for(lambda: "rems.sweep" in queued(client), timeout=60, what="the first sweep")
        assert time.monotonic() - started < 60
        assert queued(client).count("rems.sweep") == 1
        first_lock = client.get(LOCK)
        assert first_lock is not None

        server.send_signal(signal.SIGKILL)
        server.wait(10)
        wait_for(lambda: "Redis unavailable" in log.read_text(errors="replace"), timeout=30,
                 what="beat to notice the outage")
        time.sleep(3)  # several failed ticks
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]

        server = start_redis(port, tmp_path)  # empty: no lock, no schedule, no queue
        client.close()
        client = redis.Redis.from_url(url, socket_timeout=5)
        wait_for(lambda: client.exists(LOCK), timeout=60, what="beat to take its lock again")
        wait_for(lambda: queued(client).count("rems.relay") >= 2, timeout=60,
                 what="beat to fire the relay again")
        assert process.poll() is None
        assert client.get(LOCK) != first_lock  # a new lock (a new token), held by this beat
        text = log.read_text(errors="replace")
        assert "Traceback" not in text and "LockNotOwnedError" not in text.replace("(LockNotOwnedError)", "")
        assert text.count("beat: Acquired lock") == 2
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
        client.close()
        server.terminate()
        server.wait(10)
