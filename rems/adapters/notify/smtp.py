"""Email over SMTP (smtplib). The Message-ID derives from the natural key, so a repeat of one
reminder (a send whose worker died before it was marked sent) carries the same id."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from rems.domain.delivery import DeliveryError, Message


class SmtpChannel:
    name = "email"

    def __init__(self, host: str, port: int, sender: str, *, starttls: bool = False,
                 username: str | None = None, password: str | None = None, timeout: float = 30.0) -> None:
        self.host, self.port, self.sender, self.starttls = host, port, sender, starttls
        self.username, self.password, self.timeout = username, password, timeout

    def compose(self, message: Message) -> EmailMessage:
        if not message.email:
            raise DeliveryError("no email address for the recipient")
        email = EmailMessage()
        domain = self.sender.rpartition("@")[2] or "rems.invalid"
        email["Message-ID"] = f"<{message.idempotency_key}@{domain}>"
        email["From"], email["To"] = self.sender, message.email
        email["Subject"] = message.title or f"REMS reminder ({message.rule}): {message.kind.replace('_', ' ')}"
        email["X-REMS-Notification"] = message.notification_id
        email.set_content(message.text)
        email["Content-Language"] = message.locale  # issue 18 item 5 (after set_content, which clears Content-*)
        return email

    def send(self, message: Message) -> None:
        email = self.compose(message)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username and self.password:
                    smtp.login(self.username, self.password)
                smtp.send_message(email)
        except (OSError, smtplib.SMTPException) as error:
            raise DeliveryError(f"smtp {self.host}:{self.port}: {type(error).__name__}") from error
