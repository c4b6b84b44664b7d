"""The one Celery app, configured from rems.settings when first used (nothing connects at import).

`celery -A workers.app worker` / `celery -A workers.app beat` (or `rems notifications worker|beat`).
Reliability: a task is acknowledged only after it ran (acks_late), requeued when its worker process
dies (reject_on_worker_lost), one message prefetched at a time, and the broker's visibility timeout
longer than any task may run, so a slow task is never handed to a second worker.

Invalid settings stop the worker and beat before they start, with a message naming each
variable (issue 15 item 5): never a fallback to Celery's defaults (amqp://guest@localhost,
acks_late off)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from celery import Celery
from pydantic import ValidationError

from rems import logs
from rems.settings import Settings


def is_redis(url: str) -> bool:
    return url.startswith(("redis://", "rediss://"))


def celery_config(settings: Settings) -> dict[str, Any]:
    from workers.tasks import beat_schedule
    url = settings.broker_url
    if settings.env == "production" and not is_redis(url):
        raise ValueError("REMS_BROKER_URL must name Redis (redis://…) for workers in production")
    if url.startswith("sqla+sqlite:///") and not url.startswith("sqla+sqlite:////"):
        Path(url.removeprefix("sqla+sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "broker_url": url,
        "broker_connection_retry_on_startup": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        # A task whose broker connection dropped will be redelivered: stop it rather than run twice.
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "task_time_limit": settings.task_time_limit_seconds,
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_default_queue": "rems",
        "timezone": "UTC",
        "enable_utc": True,
        "beat_schedule": beat_schedule(settings),
    }
    if is_redis(url):
        config["broker_transport_options"] = {
            "visibility_timeout": settings.broker_visibility_timeout_seconds,
            # Scan for the messages of a dead worker every few seconds (one cheap ZRANGE), so one
            # comes back soon after its visibility timeout ends, not minutes later.
            "unacked_restore_interval": max(1, min(10, settings.broker_visibility_timeout_seconds // 6)),
            "unacked_restore_throttle": 1}
        # One beat at a time across replicas: redbeat holds a lock in Redis.
        # A standby beat looks for the lock every relay interval; the holder extends it each tick.
        config.update(beat_scheduler="workers.beat:RedisScheduler", redbeat_redis_url=url,
                      beat_max_loop_interval=settings.relay_interval_seconds,
                      redbeat_key_prefix="rems:redbeat",
                      redbeat_lock_timeout=max(5 * settings.relay_interval_seconds, 60))
    else:
        # The embedded broker is a local file: beat keeps its schedule file beside it.
        broker_file = url.removeprefix("sqla+sqlite:///") if url.startswith("sqla+sqlite:///") else ""
        folder = Path(broker_file).parent if broker_file else Path("var")
        config["beat_schedule_filename"] = str(folder / "celerybeat-schedule")
        config["beat_scheduler"] = "workers.beat:EmbeddedScheduler"
    return config


class InvalidSettings(SystemExit):
    """Stops `celery worker|beat` (exit status 1) with what is wrong, by variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("rems: invalid settings, not starting:\n" + "\n".join(f"  {p}" for p in problems))
        self.problems = problems


def problems(error: ValidationError) -> list[str]:
    """Each error as `REMS_<FIELD>: reason`; the value is never repeated (it may be a secret)."""
    out = []
    for item in error.errors(include_input=False, include_url=False):
        field = ".".join(str(part) for part in item["loc"])
        reason = str(item["msg"]).removeprefix("Value error, ")
        out.append(f"REMS_{field.upper()}: {reason}" if field else reason)
    return out


def checked_config() -> dict[str, Any]:
    """celery_config of the environment's settings, or InvalidSettings."""
    try:
        return celery_config(Settings())
    except ValidationError as error:
        raise InvalidSettings(problems(error)) from None
    except ValueError as error:
        raise InvalidSettings([str(error)]) from None


class RemsCelery(Celery):  # type: ignore[misc]
    def on_configure(self) -> None:
        """Celery calls this method itself when the configuration is first read; a handler of the
        on_configure *signal* would have its exception logged and swallowed, and Celery would
        carry on with its defaults."""
        self.conf.update(checked_config())


app = RemsCelery("rems")
logs.install_celery()  # issue 15 item 3: our JSON lines, each task's with its id


app.autodiscover_tasks(["workers"], related_name="tasks", force=False)
