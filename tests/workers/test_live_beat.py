"""Two beat replicas on a real Redis: celery-redbeat's lock lets only one fire (issue 4)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import redis

from rems.settings import Settings
from tests.workers.conftest import ROOT, wait_for
from workers.health import schedule_kept


def beat(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "celery", "-A", "workers.app", "beat", "--loglevel=INFO"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def test_only_one_of_two_beat_replicas_fires(redis_url: str, tmp_path: Path) -> None:
    url = redis_url.rsplit("/", 1)[0] + "/1"  # its own database: the worker's queue stays untouched
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("REMS_")}, "REMS_ENV": "test",
           "REMS_BROKER_URL": url, "REMS_DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}",
           "REMS_RELAY_INTERVAL_SECONDS": "1", "REMS_SWEEP_INTERVAL_SECONDS": "3600"}
    logs = [tmp_path / "beat-a.log", tmp_path / "beat-b.log"]
    replicas = [beat(env, log) for log in logs]
    client = redis.Redis.from_url(url)
    try:
        def fired() -> list[int]:
            return [log.read_text(errors="replace").count("Sending due task relay") for log in logs]
        wait_for(lambda: max(fired()) >= 3, timeout=60, what="one beat to fire the relay three times")
        assert sorted(fired())[0] == 0, fired()  # the other replica waits for the lock
        assert [log.read_text(errors="replace").count("beat: Acquired lock") for log in logs].count(1) == 1
        assert client.llen("rems") >= 3  # the relay tasks, queued for a worker
        assert schedule_kept(Settings(env="test", broker_url=url))
    finally:
        for process in replicas:
            os.killpg(process.pid, signal.SIGTERM)
        for process in replicas:
            process.wait(30)
        client.flushdb()
        client.close()
