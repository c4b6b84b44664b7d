"""CDS Hooks 2.0 "FHIR Resource Access" (US Medication REMS IG STU2, Prefetch: G-3): what a hook's
prefetch lacks is read from the EHR's own FHIR server.

Only the prefetch templates we declare are read (their tokens filled from the hook's context, each
a FHIR id), only for an order of a REMS drug, only from a `fhirServer` allow-listed for the calling
EHR's issuer (REMS_CDS_FHIR_SERVERS: a URL a request names is never fetched otherwise), with the
hook's `fhirAuthorization` bearer token, a short time-out, no redirect followed and a bounded body.
Nothing is logged: httpx's client logs each request's URL (which names the EHR's patient), so the
request goes through its transport directly; the token and the answers stay in this call's memory.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from rems.interop import cds, json_input
from rems.interop.cds import Order
from rems.settings import Settings
from workflows.program import Program

MAX_ANSWER = 512 * 1024  # bytes: one Patient or a one-page search is a few kilobytes
_TOKEN = re.compile(r"\{\{context\.([A-Za-z]+)\}\}")
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_ACCESS_TOKEN = re.compile(r"[\x21-\x7e]{1,4096}")  # printable, no space: a header value as it is


def _resolve(template: str, context: Mapping[str, Any]) -> str | None:
    """The relative FHIR URL of a template, or None when a token has no acceptable value."""
    values = {}
    for name in _TOKEN.findall(template):
        value = context.get(name)
        if not isinstance(value, str) or not _FHIR_ID.fullmatch(value):
            return None
        values[name] = quote(value, safe="")
    return _TOKEN.sub(lambda m: values[m.group(1)], template)


def _access_token(authorization: Any) -> str:
    if not isinstance(authorization, dict):
        raise cds.BadHook("fhirAuthorization is required to read the missing prefetch from fhirServer")
    if authorization.get("token_type") != "Bearer":
        raise cds.BadHook("fhirAuthorization.token_type must be Bearer")
    token = authorization.get("access_token")
    if not isinstance(token, str) or not _ACCESS_TOKEN.fullmatch(token):
        raise cds.BadHook("fhirAuthorization.access_token must be a token of printable characters")
    return token


@dataclass(frozen=True)
class Prefetcher:
    """Called by cds.parse_hook with what the prefetch lacks; answers the resources read."""

    settings: Settings
    issuer: str | None  # the JWT's iss; None for our own bearer tokens (no EHR to read from)
    programs: Sequence[Program]
    on: datetime

    def __call__(self, raw: Mapping[str, Any], missing: Mapping[str, str],
                 orders: tuple[Order, ...]) -> dict[str, Any]:
        if "fhirServer" not in raw:
            return {}
        if orders:  # a drug of no REMS run here: refused as before, and nothing read about the patient
            cds.program_of(orders, self.programs, self.on)
        context = raw.get("context") or {}
        wanted = {key: path for key, template in missing.items() if (path := _resolve(template, context))}
        if not wanted:
            return {}
        base = self._allowed(raw["fhirServer"])
        token = _access_token(raw.get("fhirAuthorization"))
        return {key: self._read(base, path, token) for key, path in wanted.items()}

    def _allowed(self, server: Any) -> str:
        given = server.rstrip("/") if isinstance(server, str) else None
        allowed = self.settings.cds_fhir_servers.get(self.issuer or "", [])
        if given is None or given not in [base.rstrip("/") for base in allowed]:
            shown = server[:200] if isinstance(server, str) else type(server).__name__
            who = f"the EHR {self.issuer}" if self.issuer else "a caller without an EHR JWT"
            raise cds.FhirServerRefused(f"fhirServer {shown!r} is not allow-listed for {who} (REMS_CDS_FHIR_SERVERS): "
                             "nothing was read from it; send the prefetch")
        return given

    def _read(self, base: str, path: str, token: str) -> Any:
        status, body = _get(f"{base}/{path}", token, self.settings.cds_fhir_timeout_seconds)
        if status == 404 and "?" not in path:
            return None  # CDS Hooks: no data for a template is null
        if status in (401, 403):
            raise cds.EhrUnreadable(f"the EHR's FHIR server refused the access token (HTTP {status})")
        if 300 <= status < 400:
            raise cds.EhrUnreadable(f"the EHR's FHIR server answered a redirect (HTTP {status}), which is not followed")
        if status != 200:
            raise cds.EhrUnreadable(f"the EHR's FHIR server answered HTTP {status}")
        try:
            found = json_input.loads(body)
        except json_input.BadJson:
            raise cds.EhrUnreadable("the EHR's FHIR server did not answer acceptable FHIR JSON") from None
        if not isinstance(found, dict):
            raise cds.EhrUnreadable("the EHR's FHIR server did not answer a FHIR resource")
        return found


def _get(url: str, token: str, timeout: float) -> tuple[int, bytes]:
    """One GET, no redirect, no proxy from the environment, no log line; at most MAX_ANSWER bytes
    within `timeout` seconds overall (a monotonic deadline: a time-out, not a time of the rules)."""
    request = httpx.Request("GET", url, headers={"Accept": "application/fhir+json", "Accept-Encoding": "identity",
                                                 "Authorization": f"Bearer {token}"},
                            extensions={"timeout": httpx.Timeout(timeout).as_dict()})
    deadline = time.monotonic() + timeout
    try:
        with httpx.HTTPTransport(retries=0) as transport:
            response = transport.handle_request(request)
            try:
                body = b""
                for chunk in response.iter_raw():
                    body += chunk
                    if len(body) > MAX_ANSWER:
                        raise cds.EhrUnreadable(f"the EHR's FHIR server answered more than {MAX_ANSWER} bytes")
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("deadline")
            finally:
                response.close()
    except httpx.TimeoutException:
        raise cds.EhrUnreadable(f"the EHR's FHIR server did not answer within {timeout:g} s") from None
    except httpx.HTTPError as error:
        raise cds.EhrUnreadable(f"the EHR's FHIR server could not be reached ({type(error).__name__})") from None
    return response.status_code, body
