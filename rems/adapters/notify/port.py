"""Two channels of our own: the outbox table itself, and a recording fake for unit tests. The
channel's shape (deliver one message or raise DeliveryError: then it is retried, then parked) is
rems.domain.delivery's."""

from __future__ import annotations

from rems.domain.delivery import DeliveryError, Message


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
