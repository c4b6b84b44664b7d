"""The outbox channels back to the prescriber's system (issue 16 item 5): `fhir` creates the stored
Communication at the EHR's FHIR base (conditional create on its identifier, so a repeated attempt
makes no second one), `ncpdp` posts the stored RxFill (its MessageID is the outbox row's id). A
refusal, a time-out or an NCPDP Error is a DeliveryError: retried, then parked (never logged with
its body).

The bodies are rendered by rems.interop (rems/interop/loop.py, the FHIR and NCPDP formats) when
the services queue them (rems/services/reminders/loop.py); this package may not import it, so
the formats are found through a registry: the entry point group `rems.loop_formats` declared in
pyproject.toml (`formats`, wired by rems.bootstrap; the NCPDP channel reads an answer's Error
code with it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from sqlalchemy import select

from rems.adapters import orm
from rems.domain.delivery import Channel, DeliveryError, Message
from rems.settings import Settings

if TYPE_CHECKING:
    from rems.adapters.uow import UnitOfWork

NOTIFICATION = "urn:rems-engine:notification"  # Communication.identifier: the outbox row (idempotency)
FORMATS = "rems.loop_formats"  # the entry point group of the closing-the-loop formats


class Answers(Protocol):
    """Of the formats (rems.interop.loop.FORMATS), what a channel reads of an answer."""

    def error_code(self, content: bytes) -> str | None: ...


@cache
def formats() -> Any:
    """The closing-the-loop formats registered under the entry point group `rems.loop_formats`
    (pyproject.toml: rems.interop.loop:FORMATS), loaded on first use: the FHIR models load only
    where the loop is configured. The first by name if several are installed."""
    found = sorted(entry_points(group=FORMATS), key=lambda point: point.name)
    if not found:
        raise RuntimeError(f"no closing-the-loop formats are installed (entry point group {FORMATS}: "
                           "reinstall the package, make install)")
    return found[0].load()


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
        answers: Answers = formats()
        if (code := answers.error_code(response.content)) is not None:
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
