"""Issue 15 item 5: a worker or beat with invalid settings does not start, and says which
variable is wrong; it never falls back to Celery's defaults (amqp://guest@localhost)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.workers.conftest import ROOT

PRODUCTION = {"REMS_ENV": "production", "REMS_DATABASE_URL": "postgresql+psycopg://rems@127.0.0.1:1/rems",
              "REMS_SESSION_SECRET": "s" * 40, "REMS_PUBLIC_BASE_URL": "https://rems.example.org"}


def celery(role: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REMS_")}
    return subprocess.run([sys.executable, "-m", "celery", "-A", "workers.app", role, "--loglevel=INFO"],
                          cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("role", ["worker", "beat"])
@pytest.mark.parametrize(("env", "named"), [
    ({"REMS_NOTIFY_MAX_ATTEMPTS": "many"}, "REMS_NOTIFY_MAX_ATTEMPTS: Input should be a valid integer"),
    ({"REMS_BROKER_VISIBILITY_TIMEOUT_SECONDS": "60", "REMS_TASK_TIME_LIMIT_SECONDS": "300"},
     "REMS_BROKER_VISIBILITY_TIMEOUT_SECONDS must exceed REMS_TASK_TIME_LIMIT_SECONDS"),
    ({"REMS_NOTIFY_BATCH_SIZE": "0"}, "REMS_NOTIFY_BATCH_SIZE must be between 1 and 1000"),
    ({**PRODUCTION, "REMS_BROKER_URL": "sqla+sqlite:////tmp/rems-broker.db"}, "REMS_BROKER_URL must name Redis"),
    ({"REMS_ENV": "production", "REMS_BROKER_URL": "redis://127.0.0.1:1/0"}, "REMS_DATABASE_URL must name PostgreSQL"),
])
def test_invalid_settings_stop_the_process_naming_the_variable(role: str, env: dict[str, str], named: str) -> None:
    done = celery(role, env)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "invalid settings, not starting" in done.stderr and named in done.stderr, output
    assert "amqp" not in output and "guest" not in output  # no fallback to Celery's default broker
    assert "Traceback" not in output


def test_a_secret_in_an_invalid_setting_is_not_repeated() -> None:
    done = celery("worker", {**PRODUCTION, "REMS_SESSION_SECRET": "short-secret-value",
                             "REMS_BROKER_URL": "redis://127.0.0.1:1/0"})
    assert done.returncode != 0 and "REMS_SESSION_SECRET must be set in production" in done.stderr
    assert "short-secret-value" not in done.stdout + done.stderr
