"""Shared CLI plumbing: the app, the JSON switch, the clock, and one place mapping errors to exits.

Imports here stay light (no database, no web framework): `rems --help` loads this module, and
each command imports its services when it runs (issue 15 item 11)."""

from __future__ import annotations

import json
import logging
import os
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer

from rems.domain.errors import InvalidInput
from rems.logs import request_id, scrub

if TYPE_CHECKING:
    from pydantic import BaseModel

    from rems.adapters.uow import UnitOfWork
    from rems.bootstrap import App
    from rems.domain.requirements import Decision
    from rems.services.context import Service

# Exit codes: documented in docs/cli.md; a refusal is not a crash.
EXIT_BAD_INPUT, EXIT_REFUSED, EXIT_NOT_FOUND, EXIT_CONFLICT, EXIT_SETUP = 2, 3, 4, 5, 6
T = TypeVar("T")
P = ParamSpec("P")


@dataclass
class State:
    json: bool = False
    actor: str = ""
    app: App | None = None

    def get_app(self) -> App:
        if self.app is None:
            from rems.bootstrap import bootstrap
            self.app = bootstrap()
        return self.app


state = State()


def call(service: Service[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run one service call in its own unit of work, stamped with actor and time."""
    from rems.services.context import Context
    ctx = Context(actor=state.actor or f"cli:{os.environ.get('USER', 'operator')}",  # one id per run:
                  now=datetime.now(UTC), request_id=request_id.get() or f"cli-{uuid.uuid4().hex[:16]}")
    uow: UnitOfWork
    with state.get_app().uow() as uow:
        return service(uow, ctx, *args, **kwargs)


def instant(value: str | None, option: str, field: str) -> datetime | None:
    """T1: a time option carries an offset; a wall-clock time is refused, never taken as UTC."""
    if value is None:
        return None
    example = "e.g. 2026-11-24T09:00:00-05:00 or 2026-11-24T14:00:00Z"
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(field, f"{option} is not an ISO 8601 time ({example})") from None
    if moment.tzinfo is None:
        raise InvalidInput(field, f"{option} needs a UTC offset ({example}); a time without one is refused")
    return moment


def utc(moment: datetime) -> str:
    """The API's form of an instant (pydantic's): ISO 8601 in UTC with `Z`."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def as_json(data: Any) -> str:
    """JSON as the API writes it: instants in UTC with `Z`, dates as YYYY-MM-DD."""
    return json.dumps(data, indent=2, default=_jsonable)


def local(moment: datetime | None, missing: str = "-") -> str:
    """An instant for a person: the operator's local time, with its zone."""
    if moment is None:
        return missing
    return f"{moment.astimezone():%Y-%m-%d %H:%M %Z}".rstrip()


def local_text(text: str | None, missing: str = "-") -> str:
    """An ISO 8601 date stays a date; an ISO instant becomes local time (see `local`)."""
    if not text:
        return missing
    if "T" not in text:
        return text
    return local(datetime.fromisoformat(text.replace("Z", "+00:00")))


def emit(data: Any, human: str | None = None) -> None:
    if state.json or human is None:
        typer.echo(as_json(data))
    else:
        typer.echo(human)


def emit_model(model: BaseModel, human: str) -> None:
    """A record in the API's response shape (its field names and formats) or a line for a person."""
    emit(model.model_dump(mode="json"), human)


def show_decision(decision: Decision, title: str) -> None:
    if state.json:
        emit(decision.as_dict())
        return
    verdict = "ALLOWED" if decision.allowed else "REFUSED"
    if decision.allowed and decision.waivers:  # issue 17: allowed although it would refuse
        verdict += " (waived: " + ", ".join(w.name for w in decision.waivers) + ")"
    typer.echo(f"{title}: {verdict}")
    for r in decision.requirements:
        if r.met:
            typer.echo(f"  [ok  ] {r.rule:<4} {r.message}")
        else:
            typer.echo(f"  [FAIL] {r.rule:<4} {r.message}  ({r.code})\n         -> {r.remedy}")


def fail(code: int, kind: str, message: str, extra: dict[str, Any] | None = None) -> None:
    payload = {"error": kind, "message": message, **(extra or {})}
    if state.json:
        typer.echo(as_json(payload))
    else:
        typer.echo(f"error: {message}", err=True)
        for failure in (extra or {}).get("failures", []):
            typer.echo(f"  [FAIL] {failure['rule']:<4} {failure['code']:<34} {failure['message']}"
                       f"\n         -> {failure['remedy']}", err=True)
    raise SystemExit(code)


def handle(error: Exception) -> None:
    """Map every expected error to a message and an exit code; never a stack trace."""
    from pydantic import ValidationError
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from rems.domain.errors import Conflict, NotFound, Refused
    from workflows.program import ProgramError
    if isinstance(error, Refused):
        fail(EXIT_REFUSED, "refused", str(error), {"failures": [f.as_dict() for f in error.failures]})
    if isinstance(error, InvalidInput):
        fail(EXIT_BAD_INPUT, "invalid_input", str(error), {"field": error.field})
    if isinstance(error, NotFound):
        fail(EXIT_NOT_FOUND, "not_found", str(error))
    if isinstance(error, Conflict):
        fail(EXIT_CONFLICT, "conflict", str(error))
    if isinstance(error, ValidationError | ProgramError):
        fail(EXIT_SETUP, "configuration", str(error).splitlines()[0] + " (check REMS_* settings)")
    # Issue 15 item 3: what failed, for the operator, as a JSON line without any bound value (and
    # no stack trace: the CLI never prints one).
    logging.getLogger("rems.cli").error("%s: %s", type(error).__name__, scrub(str(error)),
                                        extra={"error": type(error).__name__})
    if isinstance(error, OperationalError | ProgrammingError):
        fail(EXIT_SETUP, "database", "the database is not reachable or not initialised: run `rems init`")
    print(f"internal error ({type(error).__name__}); nothing was saved", file=sys.stderr)
    raise SystemExit(1)
