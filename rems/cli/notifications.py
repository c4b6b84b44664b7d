"""`rems notifications`: the reminder outbox (list, parked, retry), contacts, readiness; `worker`,
`beat` and `sweep` are the workers' own (workers/cli.py, added by rems.cli.main.extend)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from rems.cli.output import EXIT_SETUP, call, emit, fail, local, state

if TYPE_CHECKING:
    from rems.domain.model import Notification

notifications = typer.Typer(help="The reminder outbox: list, parked, retry; run the worker and beat.",
                            no_args_is_help=True)


def _row(n: Notification) -> dict[str, Any]:
    """The API's notification (GET /v1/admin/notifications), field for field."""
    from rems.schemas.notifications import NotificationOut
    return NotificationOut.of(n).model_dump(mode="json")


def _line(n: Notification) -> str:
    when = f"sent {local(n.sent_at)}" if n.sent_at else f"next attempt {local(n.next_attempt_at)}"
    return (f"{n.id} {n.state:<7} {n.channel:<7} {n.rule:<4} {n.kind:<26} due {n.due_on:%Y-%m-%d} "
            f"{n.recipient} ({n.attempts} attempts; {when})"
            + (f" last error: {n.last_error}" if n.last_error else ""))


def _show(found: list[Notification]) -> None:
    emit([_row(n) for n in found], "\n".join(_line(n) for n in found) or "(none)")


@notifications.command("list")
def list_(state: str = typer.Option(None, help="pending, sending, sent, failed or parked"),
          recipient: str = typer.Option(None, help="e.g. patient:pat_…"),
          limit: int = typer.Option(100, min=1, max=500)) -> None:
    """The outbox, newest first."""
    from rems.services.reminders import notifications as outbox
    _show(call(outbox.listing, state, recipient, limit))


@notifications.command("parked")
def parked(limit: int = typer.Option(100, min=1, max=500)) -> None:
    """Notifications parked after their last failed attempt (never dropped: act on them)."""
    from rems.services.reminders import notifications as outbox
    _show(call(outbox.parked, limit))


@notifications.command("retry")
def retry(notification_id: str = typer.Argument(..., metavar="ID")) -> None:
    """Send a parked notification again, with a fresh set of attempts (audited)."""
    from rems.services.reminders import notifications as outbox
    n = call(outbox.retry, notification_id)
    emit(_row(n), f"notification {n.id}: {n.state}")


@notifications.command("contact")
def contact(recipient: str = typer.Argument(..., help="patient:ID, prescriber:ID or pharmacy:ID"),
            email: str = typer.Option(None, help="Email address (SMTP channel)"),
            phone: str = typer.Option(None, help="E.164 phone number (webhook/SMS channel)")) -> None:
    """Set where a recipient's reminders go (neither: the outbox only)."""
    from rems.services.reminders import notifications as outbox
    c = call(outbox.set_contact, recipient, email, phone)
    channels = [name for name, value in (("email", c.email), ("webhook", c.phone)) if value] or ["outbox"]
    emit({"recipient": c.recipient, "channels": channels}, f"{c.recipient}: {', '.join(channels)}")


@notifications.command("ready")
def ready() -> None:
    """Readiness of a worker or beat (compose healthcheck): database at head and broker reachable;
    exit 6 naming what is wrong (issue 15 item 4)."""
    from rems.readiness import broker_problems, database_problems
    application = state.get_app()
    problems = database_problems(application.engine) + broker_problems(application.settings.broker_url)
    if problems:
        fail(EXIT_SETUP, "not_ready", "; ".join(problems))
    emit({"status": "ready"}, "ready: database at head, broker reachable")

