"""JSON log lines with the request id on each, and no bound value in any of them (issue 15 item 3).

One line per record on stderr: `at` (UTC, Z), `level`, `logger`, `process` (api, cli, worker),
`request_id` (the API's X-Request-ID, the CLI invocation's id, the Celery task's id) and `message`;
an exception adds `error` (its type) and a scrubbed `traceback`. Engines hide bound parameters
(`hide_parameters=True`); the scrubber is the second line of defence for what a driver writes
into its own message (PostgreSQL's `DETAIL: Key (…)=(…)`, `Failing row contains (…)`)."""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id: ContextVar[str | None] = ContextVar("rems_request_id", default=None)

_SCRUBBED = "[scrubbed]"
# Where a value a caller sent can appear in an error message: SQLAlchemy's parameter list, the
# drivers' row and key details, and SQLite's quoting of a failing value.
_PATTERNS = tuple(re.compile(p) for p in (
    r"(\[parameters: )[^\n]*",
    r"((?:DETAIL|HINT|CONTEXT|WHERE): +)[^\n]*",
    r"(Failing row contains )[^\n]*",
    r"(Key )\([^\n]*",
    r"(input_value=)[^\n]*",  # pydantic's echo of the value it refused
    r"(\b(?:parameters|params)=)[^\n]*",
))


# Cheap to look for: most lines (the access line) hold none of them and skip the patterns.
_MARKERS = ("[parameters: ", "DETAIL: ", "HINT: ", "CONTEXT: ", "WHERE: ", "Failing row", "Key (",
            "input_value=", "parameters=", "params=")


def scrub(text: str) -> str:
    """The text with every place a bound value may sit replaced by `[scrubbed]`."""
    if not any(marker in text for marker in _MARKERS):
        return text
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + _SCRUBBED, text)
    return text


class JsonFormatter(logging.Formatter):
    def __init__(self, process: str) -> None:
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname, "logger": record.name, "process": self.process,
            "request_id": getattr(record, "request_id", None) or request_id.get(),
            "message": scrub(record.getMessage())}
        error_type = getattr(record, "error", None)
        if isinstance(error_type, str):
            line["error"] = error_type
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            line["error"] = type(error).__name__
            line["traceback"] = scrub("".join(traceback.format_exception(error)))
        return json.dumps(line, default=str)


def configure(process: str, level: int = logging.INFO, rid: str | None = None) -> None:
    """Route every logger (uvicorn's, Celery's, SQLAlchemy's, ours) to one JSON handler on stderr.

    Idempotent; `rid` is the request id of a whole run (a CLI invocation), None for a server."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(process))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "celery", "celery.task", "celery.worker", "celery.beat"):
        logger = logging.getLogger(name)
        logger.handlers, logger.propagate = [], True
    # The API writes its own access line (rems.api.metrics) with the route and the request id;
    # uvicorn's would repeat it with the raw query string.
    logging.getLogger("uvicorn.access").disabled = True
    # transitions logs each callback of each state change at INFO (four lines per confirmation):
    # the audit log records every transition already, so only its warnings are kept.
    logging.getLogger("transitions").setLevel(max(level, logging.WARNING))
    logging.captureWarnings(True)  # a library's warning is a JSON line too
    request_id.set(rid)


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def install_celery() -> None:
    """Celery keeps our handler (no hijacked root logger) and each task's lines carry its id."""
    from celery import signals

    def setup_logging(**_: Any) -> None:
        configure("worker")

    def task_prerun(task_id: str | None = None, **_: Any) -> None:
        request_id.set(f"task-{task_id}" if task_id else None)

    def task_postrun(**_: Any) -> None:
        request_id.set(None)

    signals.setup_logging.connect(setup_logging, weak=False)
    signals.task_prerun.connect(task_prerun, weak=False)
    signals.task_postrun.connect(task_postrun, weak=False)
