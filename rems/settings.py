"""One typed settings object, read from the environment (REMS_*), validated at start (STYLE 8)."""

from __future__ import annotations

import secrets
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from workflows.program import PROGRAM_DIR

DEFAULT_DATABASE_URL = "sqlite:///var/rems.db"
# Placeholders people copy from examples; a session secret equal to one of these is no secret.
WEAK_SESSION_SECRETS = frozenset({"", "changeme", "change-me", "secret", "development", "dev", "test"})


@cache
def _process_session_secret() -> str:
    """Development and test: one random secret per process (sessions end when it restarts)."""
    return secrets.token_urlsafe(32)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REMS_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = DEFAULT_DATABASE_URL
    program_dir: Path = PROGRAM_DIR
    default_program: str = "pomalidomide"
    # Signs the web dashboard's session cookie (issue 7); required, and strong, in production.
    session_secret: SecretStr | None = None
    # Issue 4, Celery workers and reminders. The default broker is an embedded SQLite file
    # (kombu's SQLAlchemy transport) so `make run` needs no server; production uses redis://.
    broker_url: str = "sqla+sqlite:///var/broker.db"
    broker_visibility_timeout_seconds: int = 3600  # > task_time_limit: no redelivery of a live task
    task_time_limit_seconds: int = 300
    sweep_interval_seconds: int = 300
    relay_interval_seconds: int = 30
    reminder_lead_days: int = 3  # "coming due" reminders go this many days before the due date
    reminder_lookback_days: int = 7  # overdue/expired items older than this are not reminded again
    notify_max_attempts: int = 5  # then parked, visible in `rems notifications parked` and the API
    notify_backoff_seconds: int = 60  # doubled on each failed attempt
    notify_backoff_max_seconds: int = 3600
    notify_lease_seconds: int = 120  # a send claimed longer ago than this may be claimed again
    smtp_host: str | None = None  # email channel off when unset
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "rems-reminders@localhost"
    smtp_timeout_seconds: float = 30.0
    webhook_url: str | None = None  # SMS/messaging gateway; webhook channel off when unset
    webhook_secret: SecretStr | None = None  # signs each body (X-REMS-Signature: HMAC-SHA256)
    webhook_timeout_seconds: float = 10.0
    # Issue 15 item 6 (hygiene lane): a request body over this many bytes is refused with 413
    # (docs/input.md); the largest real body, an enrollment, is a few kilobytes.
    max_body_bytes: int = Field(default=512 * 1024, ge=1024)

    @model_validator(mode="after")
    def _safe_outside_development(self) -> Settings:
        if self.env == "production" and self.database_url.startswith("sqlite"):
            raise ValueError("REMS_DATABASE_URL must name PostgreSQL in production")
        return self

    @model_validator(mode="after")
    def _session_secret_set(self) -> Settings:
        given = self.session_secret.get_secret_value() if self.session_secret else ""
        if self.env == "production" and (given.lower() in WEAK_SESSION_SECRETS or len(given) < 32):
            raise ValueError("REMS_SESSION_SECRET must be set in production to a random value of at "
                             "least 32 characters (e.g. `python -c 'import secrets; "
                             "print(secrets.token_urlsafe(32))'`)")
        if not given:
            self.session_secret = SecretStr(_process_session_secret())
        return self

    @model_validator(mode="after")
    def _workers_lose_nothing(self) -> Settings:
        # Issue 4: a task must finish (or be killed) before the broker hands it to another worker,
        # and a claimed send must outlive the channel's own time-outs before it can be re-claimed.
        if self.broker_visibility_timeout_seconds <= self.task_time_limit_seconds:
            raise ValueError("REMS_BROKER_VISIBILITY_TIMEOUT_SECONDS must exceed REMS_TASK_TIME_LIMIT_SECONDS")
        if self.notify_lease_seconds <= max(self.smtp_timeout_seconds, self.webhook_timeout_seconds):
            raise ValueError("REMS_NOTIFY_LEASE_SECONDS must exceed the SMTP and webhook time-outs")
        if self.notify_max_attempts < 1 or self.reminder_lead_days < 0 or self.reminder_lookback_days < 0:
            raise ValueError("REMS_NOTIFY_MAX_ATTEMPTS must be >= 1; reminder days must not be negative")
        return self
