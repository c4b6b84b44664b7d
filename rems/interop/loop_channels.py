"""The outbox channels back to the prescriber's system (issue 16 item 5): `fhir` creates the stored
Communication at the EHR's FHIR base (conditional create on its identifier, so a repeated attempt
makes no second one), `ncpdp` posts the stored RxFill (its MessageID is the outbox row's id). A
refusal, a time-out or an NCPDP Error is a DeliveryError: retried, then parked (never logged with
its body)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx
from sqlalchemy import select

from rems.adapters import orm
from rems.adapters.notify.port import Channel, DeliveryError, Message
from rems.adapters.uow import UnitOfWork
from rems.interop import ncpdp_xml
from rems.interop.loop import NOTIFICATION
from rems.settings import Settings


@dataclass(frozen=True)
class Body:
    issuer: str | None
    media_type: str
    content: bytes


Bodies = Callable[[str], Body | None]


def stored(open_uow: Callable[[bool], UnitOfWork]) -> Bodies:
    """The body recorded with an outbox row, read in a short read-only unit of work."""
    def body(notification_id: str) -> Body | None:
        t = orm.loop_messages.c
        with open_uow(False) as uow:
            row = uow.connection().execute(select(t.issuer, t.media_type, t.body)
                                           .where(t.notification_id == notification_id)).first()
        return Body(row.issuer, row.media_type, row.body.encode()) if row else None
    return body


def _post(url: str, body: Body, headers: dict[str, str], token: str | None, timeout: float) -> httpx.Response:
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        return httpx.post(url, content=body.content, headers={"Content-Type": body.media_type, **headers},
                          timeout=timeout)
    except httpx.HTTPError as error:
        raise DeliveryError(f"{type(error).__name__} posting to the prescriber's system") from error


def _body(bodies: Bodies, message: Message) -> Body:
    found = bodies(message.notification_id)
    if found is None:
        raise DeliveryError("no message body is recorded for this notification")
    return found


class FhirChannel:
    name = "fhir"

    def __init__(self, endpoints: Mapping[str, str], token: str | None, timeout: float, bodies: Bodies) -> None:
        self.endpoints, self.token, self.timeout, self.bodies = endpoints, token, timeout, bodies

    def send(self, message: Message) -> None:
        body = _body(self.bodies, message)
        base = self.endpoints.get(body.issuer or "")
        if base is None:
            raise DeliveryError("no FHIR endpoint is configured for this EHR (REMS_LOOP_FHIR_ENDPOINTS)")
        response = _post(f"{base.rstrip('/')}/Communication", body, {
            "Accept": "application/fhir+json", "Idempotency-Key": message.idempotency_key,
            "If-None-Exist": f"identifier={NOTIFICATION}|{message.notification_id}"}, self.token, self.timeout)
        if response.status_code >= 300:
            raise DeliveryError(f"the FHIR server answered {response.status_code}")


class NcpdpChannel:
    name = "ncpdp"

    def __init__(self, url: str, token: str | None, timeout: float, bodies: Bodies) -> None:
        self.url, self.token, self.timeout, self.bodies = url, token, timeout, bodies

    def send(self, message: Message) -> None:
        response = _post(self.url, _body(self.bodies, message), {"Accept": "application/xml"}, self.token,
                         self.timeout)
        if response.status_code >= 300:
            raise DeliveryError(f"the NCPDP endpoint answered {response.status_code}")
        if (code := ncpdp_xml.error_code(response.content)) is not None:
            raise DeliveryError(f"the NCPDP endpoint answered an Error (code {code})")


def channels(settings: Settings, open_uow: Callable[[bool], UnitOfWork]) -> dict[str, Channel]:
    """The configured ones (a worker without them parks a loop row, visible and retryable)."""
    found: dict[str, Channel] = {}
    bodies, timeout = stored(open_uow), settings.webhook_timeout_seconds
    if settings.loop_fhir_endpoints:
        token = settings.loop_fhir_token.get_secret_value() if settings.loop_fhir_token else None
        found["fhir"] = FhirChannel(settings.loop_fhir_endpoints, token, timeout, bodies)
    if settings.loop_ncpdp_url:
        token = settings.loop_ncpdp_token.get_secret_value() if settings.loop_ncpdp_token else None
        found["ncpdp"] = NcpdpChannel(settings.loop_ncpdp_url, token, timeout, bodies)
    return found
