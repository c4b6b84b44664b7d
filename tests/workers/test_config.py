"""The reliability settings that lose nothing (issue 4, item 4), and refusals of unsafe ones."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rems.settings import Settings
from workers.app import celery_config


def test_tasks_are_acknowledged_late_requeued_on_a_lost_worker_and_prefetched_one_at_a_time() -> None:
    config = celery_config(Settings(env="test", broker_url="redis://127.0.0.1:6379/0"))
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    assert config["worker_prefetch_multiplier"] == 1
    assert config["broker_transport_options"]["visibility_timeout"] > config["task_time_limit"]
    assert config["beat_scheduler"] == "workers.beat:RedisScheduler"  # redbeat's, surviving Redis restarts
    assert config["redbeat_lock_timeout"] > config["beat_max_loop_interval"]
    assert {entry["task"] for entry in config["beat_schedule"].values()} == {"rems.sweep", "rems.relay"}


def test_the_embedded_broker_needs_no_server_and_is_refused_in_production() -> None:
    config = celery_config(Settings(env="test", broker_url="sqla+sqlite:////tmp/rems-broker-test.db"))
    assert config["broker_url"].startswith("sqla+sqlite")
    assert config["beat_scheduler"] == "workers.beat:EmbeddedScheduler"  # a schedule file, first sweep at start
    # beat keeps its schedule beside the broker file, wherever the command runs from
    assert config["beat_schedule_filename"] == "/tmp/celerybeat-schedule"
    with pytest.raises(ValueError, match="REMS_BROKER_URL must name Redis"):
        celery_config(Settings(env="production", database_url="postgresql+psycopg://u@h/d",
                               session_secret="x" * 40, public_base_url="https://rems.example.org",
                               broker_url="sqla+sqlite:////tmp/b.db"))


@pytest.mark.parametrize(("fields", "named"), [
    ({"broker_visibility_timeout_seconds": 300, "task_time_limit_seconds": 300}, "VISIBILITY_TIMEOUT"),
    ({"notify_lease_seconds": 30, "smtp_timeout_seconds": 30}, "LEASE"),
    ({"notify_max_attempts": 0}, "MAX_ATTEMPTS"),
])
def test_settings_that_could_lose_or_repeat_a_task_are_refused(fields: dict[str, int], named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        Settings(env="test", **fields)
