"""Body of the reminder outbox's routes (issue 4): one notification, no contact data."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from rems.domain.model import Notification
from rems.schemas.common import Out


class NotificationOut(Out):
    id: str = Field(description="Notification id")
    recipient: str = Field(description="patient:ID, prescriber:ID or pharmacy:ID (no contact data)")
    kind: str = Field(description="What the reminder is, e.g. pregnancy_test_overdue (see docs/reminders.md)")
    subject: str = Field(description="The record the reminder is about")
    due_on: date = Field(description="The due date; (recipient, kind, subject, due_on) is unique")
    rule: str = Field(description="Rule id in REMS_RULES.md")
    channel: str = Field(description="email, webhook or outbox")
    state: str = Field(description="pending, sending, sent, failed (retried after a backoff) or parked")
    attempts: int = Field(description="Send attempts so far")
    created_at: datetime = Field(description="When the sweep recorded it")
    next_attempt_at: datetime = Field(description="Not sent again before this")
    sent_at: datetime | None = Field(description="When the channel took it")
    last_error: str | None = Field(description="Why the last attempt failed")

    @classmethod
    def of(cls, n: Notification) -> NotificationOut:
        return cls(id=n.id, recipient=n.recipient, kind=n.kind, subject=n.subject, due_on=n.due_on,
                   rule=n.rule, channel=n.channel, state=n.state, attempts=n.attempts,
                   created_at=n.created_at, next_attempt_at=n.next_attempt_at, sent_at=n.sent_at,
                   last_error=n.last_error)
