"""What a notification channel takes and how it refuses (issue 4): the message, the error, and the
channel's shape. Plain types: the delivery service (rems.services.reminders.delivery) and the
channels (rems.adapters.notify) share them, neither importing the other (issue 19 item 1)."""

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
