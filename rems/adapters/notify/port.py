"""The channel port: deliver one message or raise DeliveryError (then it is retried, then parked)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class DeliveryError(Exception):
    """The channel did not take the message; the text says why (no contact data in it)."""


@dataclass(frozen=True)
class Message:
    notification_id: str
    idempotency_key: str  # the same for every attempt of one natural key: receivers drop repeats
    kind: str
    rule: str
    subject_id: str
    due_on: str
    text: str
    email: str | None = None
    phone: str | None = None
    title: str | None = None  # issue 18 item 5: the Subject line in the reminder's language
    locale: str = "en"  # the language of `text` and `title` (rems.i18n.LOCALES)


class Channel(Protocol):
    name: str

    def send(self, message: Message) -> None: ...


class OutboxChannel:
    """Delivery to the outbox table itself: the row stays listed for staff (API and CLI)."""

    name = "outbox"

    def send(self, message: Message) -> None:
        return None


class RecordingChannel:
    """A fake for unit tests: records what it was given; fails the first `failures` sends."""

    def __init__(self, name: str = "outbox", failures: int = 0) -> None:
        self.name, self.failures = name, failures
        self.sent: list[Message] = []

    def send(self, message: Message) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise DeliveryError("channel unavailable (fake)")
        self.sent.append(message)
