"""The worker's composition root: the rems App, the channels and the delivery policy, built once
per process from settings on first use (tests build their own and call task bodies directly)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from rems.adapters.notify import loop as loop_channels
from rems.adapters.notify.port import OutboxChannel
from rems.adapters.notify.smtp import SmtpChannel
from rems.adapters.notify.webhook import WebhookChannel
from rems.bootstrap import App, bootstrap
from rems.domain.delivery import Channel
from rems.services.context import Context
from rems.services.reminders.notifications import Policy
from rems.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    app: App
    channels: dict[str, Channel]
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    @property
    def policy(self) -> Policy:
        s = self.settings
        return Policy(max_attempts=s.notify_max_attempts, backoff=timedelta(seconds=s.notify_backoff_seconds),
                      backoff_max=timedelta(seconds=s.notify_backoff_max_seconds),
                      lease=timedelta(seconds=s.notify_lease_seconds),
                      send_budget=timedelta(seconds=max(s.smtp_timeout_seconds, s.webhook_timeout_seconds)),
                      locale=s.default_locale)

    @property
    def available(self) -> frozenset[str]:
        return frozenset(self.channels)

    def context(self, actor: str) -> Context:
        return Context(actor, self.clock())


def channels_from(settings: Settings) -> dict[str, Channel]:
    channels: dict[str, Channel] = {"outbox": OutboxChannel()}
    if settings.smtp_host:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        channels["email"] = SmtpChannel(settings.smtp_host, settings.smtp_port, settings.smtp_from,
                                        starttls=settings.smtp_starttls, username=settings.smtp_username,
                                        password=password, timeout=settings.smtp_timeout_seconds)
    if settings.webhook_url:
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        channels["webhook"] = WebhookChannel(settings.webhook_url, secret, settings.webhook_timeout_seconds)
    return channels


def build(settings: Settings) -> Runtime:
    app = bootstrap(settings)  # issue 16 item 5: the channels back to the prescriber's system read the outbox
    return Runtime(settings, app, {**channels_from(settings), **loop_channels.channels(settings, app.uow)})


@cache
def runtime() -> Runtime:
    return build(Settings())
