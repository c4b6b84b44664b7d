"""An HTTP webhook (an SMS or messaging gateway): POST JSON with an Idempotency-Key derived from
the natural key, signed with HMAC-SHA256 when a secret is configured."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx

from rems.domain.delivery import DeliveryError, Message


class WebhookChannel:
    name = "webhook"

    def __init__(self, url: str, secret: str | None = None, timeout: float = 10.0) -> None:
        self.url, self.secret, self.timeout = url, secret, timeout

    def body(self, message: Message) -> bytes:
        if not message.phone:
            raise DeliveryError("no phone number for the recipient")
        return json.dumps({"notification_id": message.notification_id, "to": message.phone,
                           "kind": message.kind, "rule": message.rule, "due_on": message.due_on,
                           "text": message.text}, sort_keys=True).encode()

    def send(self, message: Message) -> None:
        body = self.body(message)
        headers = {"Content-Type": "application/json", "Idempotency-Key": message.idempotency_key}
        if self.secret:
            digest = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-REMS-Signature"] = f"sha256={digest}"
        try:
            response = httpx.post(self.url, content=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as error:
            raise DeliveryError(f"webhook: {type(error).__name__}") from error
        if response.status_code >= 300:
            raise DeliveryError(f"webhook answered {response.status_code}")
