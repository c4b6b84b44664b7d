"""The channel adapters against real local servers: what they send, and failures as DeliveryError."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from rems.adapters.notify.smtp import SmtpChannel
from rems.adapters.notify.webhook import WebhookChannel
from rems.domain.delivery import DeliveryError, Message
from tests.workers.conftest import free_port

MESSAGE = Message("ntf_1", "k" * 40, "ppaf_needed", "R8", "pat_1", "2026-03-10",
                  "Patient pat_1 changes risk category on 2026-03-10: a new PPAF is needed (R8).",
                  email="dr@clinic.example", phone="+15551234567")


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[list[dict[str, Any]], str]]:
    seen: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append({"headers": dict(self.headers), "body": body})
            self.send_response(500 if self.path == "/broken" else 202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield seen, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_webhook_posts_the_idempotency_key_and_an_hmac_of_the_body(
        receiver: tuple[list[dict[str, Any]], str]) -> None:
    seen, base = receiver
    WebhookChannel(f"{base}/sms", secret="s3cret").send(MESSAGE)
    request = seen[-1]
    assert request["headers"]["Idempotency-Key"] == MESSAGE.idempotency_key
    expected = hmac.new(b"s3cret", request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-REMS-Signature"] == f"sha256={expected}"
    assert b'"to": "+15551234567"' in request["body"]


def test_webhook_failures_are_delivery_errors(receiver: tuple[list[dict[str, Any]], str]) -> None:
    _, base = receiver
    with pytest.raises(DeliveryError, match="answered 500"):
        WebhookChannel(f"{base}/broken").send(MESSAGE)
    with pytest.raises(DeliveryError, match="webhook: Connect"):
        WebhookChannel(f"http://127.0.0.1:{free_port()}/sms", timeout=2).send(MESSAGE)
    with pytest.raises(DeliveryError, match="no phone number"):
        WebhookChannel(f"{base}/sms").send(Message(**{**MESSAGE.__dict__, "phone": None}))


def test_every_attempt_of_one_reminder_carries_the_same_message_id() -> None:
    channel = SmtpChannel("127.0.0.1", 25, "reminders@rems.example")
    first, second = channel.compose(MESSAGE), channel.compose(MESSAGE)
    assert first["Message-ID"] == second["Message-ID"] == f"<{'k' * 40}@rems.example>"
    assert first["To"] == "dr@clinic.example" and "R8" in first["Subject"]


def test_an_unreachable_smtp_server_is_a_delivery_error_naming_no_address() -> None:
    with pytest.raises(DeliveryError) as failure:
        SmtpChannel("127.0.0.1", free_port(), "reminders@rems.example", timeout=2).send(MESSAGE)
    assert "dr@clinic.example" not in str(failure.value)
