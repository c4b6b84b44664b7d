"""SMART App Launch 2.2 (EHR launch) of our dashboard from a CDS card (issue 16 item 4; R5, R6, R8,
R15, R19: the forms a card's `smart` link opens).

The EHR opens the page the card linked to with `iss` (its FHIR base URL) and `launch`. Launches
(`Launches`, an ASGI wrapper) sends any dashboard page so opened to /web/smart/launch, keeping the
page. There: `iss` must be in REMS_SMART_ISSUERS; its `.well-known/smart-configuration` gives the
endpoints; we authorize with PKCE (S256), the `launch` scope and `aud` = `iss`; the callback
checks the state, exchanges the code, verifies the ID token (its `fhirUser` is the practitioner)
and maps the practitioner to our prescriber through REMS_CDS_PRACTITIONERS of the CDS issuer
REMS_SMART_ISSUERS names. The session opened is that prescriber's, and the page opens. Each step
is an audit entry (entity `sign_in`); a refusal is a page that says why.
"""
# No `from __future__ import annotations`: FastAPI resolves the annotations at run time.

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from rems.domain.errors import NotFound
from rems.http.auth import application, clock
from rems.settings import Settings
from rems.web.oidc import (
    Flow,
    SignInRefused,
    answered,
    authorize_url,
    away,
    exchange,
    fetch_json,
    refused,
    signed_in,
    step,
    take_flow,
    verify_id_token,
)
from rems.web.pages import HEADERS

router = APIRouter(prefix="/web/smart", include_in_schema=False)
TITLE = "Launch from your EHR refused"
_PLAIN_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class Launches:
    """A GET of a dashboard page carrying `iss` and `launch` is an EHR launch: hand it to the launch
    endpoint with the page (a path of ours, so no open redirect). Everything else passes untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        query = scope.get("query_string", b"")
        if (path.startswith("/web/") and not path.startswith("/web/smart/") and b"launch=" in query
                and b"iss=" in query and scope.get("method") == "GET"):
            given = parse_qs(query.decode("latin-1"))
            if "iss" not in given or "launch" not in given:  # e.g. `?prelaunch=`: an ordinary page
                await self.app(scope, receive, send)
                return
            target = urlencode({"iss": given.get("iss", [""])[0], "launch": given.get("launch", [""])[0],
                                "page": path})
            await RedirectResponse(f"/web/smart/launch?{target}", status_code=303, headers=HEADERS)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _configuration(settings: Settings, iss: str) -> dict[str, Any]:
    found = fetch_json(settings, f"{iss}/.well-known/smart-configuration")
    ok = all(isinstance(found.get(k), str) for k in ("authorization_endpoint", "token_endpoint", "jwks_uri", "issuer"))
    if not ok or "S256" not in found.get("code_challenge_methods_supported", []) \
            or "launch-ehr" not in found.get("capabilities", []):
        raise SignInRefused("SMART_EHR_UNSUITABLE", "Your EHR's SMART configuration does not offer an EHR launch "
                            "with PKCE (S256): ask your EHR administrator.", iss=iss)
    return found


def app_context(given: object) -> dict[str, str]:
    """What we put in the card's `appContext` (rems/interop/smart.py), as the EHR hands it back in
    the token response (CDS Hooks 2.0): our patient id, the program and the rule, each a plain id;
    anything else, or anything malformed, is ignored (the page opened scopes what is shown)."""
    try:
        found = json.loads(given) if isinstance(given, str) and len(given) < 4096 else None
    except ValueError:
        found = None
    if not isinstance(found, dict):
        return {}
    return {k: v for k in ("remsPatientId", "program", "rule")
            if isinstance(v := found.get(k), str) and _PLAIN_ID.fullmatch(v)}


def _callback(settings: Settings) -> str:
    return f"{settings.public_base_url}/web/smart/callback"


@router.get("/launch")
def launch(request: Request, iss: str = "", launch: str = "", page: str = "") -> Response:
    settings = application(request).settings
    iss, launch, page = iss[:500].rstrip("/"), launch[:500], page[:500]
    flow = Flow.start("smart", iss, page if page.startswith("/web/") and "//" not in page else "")
    try:
        if iss not in settings.smart_issuers:
            raise SignInRefused("SMART_ISS_NOT_ALLOWED", "This dashboard does not accept launches from the EHR "
                                f"at {iss or '(no iss given)'}: ask the program administrator to allow it "
                                "(REMS_SMART_ISSUERS).", iss=iss)
        if not launch:
            raise SignInRefused("SMART_NO_LAUNCH", "The EHR opened this page without a launch context: open it "
                                "again from the card in your EHR.", iss=iss)
        config = _configuration(settings, iss)
        url = authorize_url(config, settings.smart_client_id, _callback(settings), settings.smart_scope, flow,
                            launch=launch, aud=iss)
    except SignInRefused as error:
        return refused(request, "anonymous", flow.id, error, TITLE)
    return away(request, flow, url, "smart_authorize", iss=iss, page=flow.page)


@router.get("/callback")
def callback(request: Request, state: str = "", code: str = "", error: str = "") -> Response:
    settings = application(request).settings
    try:
        flow = take_flow(request, "smart", state[:200])
    except SignInRefused as refusal:
        return refused(request, "anonymous", "unknown", refusal, TITLE)
    try:
        given = answered(code, error, "Your EHR")
        config = _configuration(settings, flow.issuer)
        tokens = exchange(settings, config, settings.smart_client_id, None, _callback(settings), given, flow)
        claims = verify_id_token(settings, tokens.get("id_token"), config["jwks_uri"], config["issuer"],
                                 settings.smart_client_id, flow.nonce, clock(request))
        user = claims.get("fhirUser")
        practitioner = user.removeprefix(f"{flow.issuer}/") if isinstance(user, str) else ""
        ehr_patient, context = tokens.get("patient"), app_context(tokens.get("appContext"))
        step(request, "anonymous", flow.id, "smart_token", iss=flow.issuer, practitioner=practitioner,
             **({"ehr_patient": ehr_patient} if isinstance(ehr_patient, str) else {}), **context)
        cds_issuer = settings.smart_issuers[flow.issuer]
        prescriber = settings.cds_practitioners.get(cds_issuer, {}).get(practitioner)
        if not practitioner.startswith("Practitioner/") or prescriber is None:
            raise SignInRefused("SMART_PRACTITIONER_UNMAPPED", f"You ({practitioner or 'no fhirUser'}) are not "
                                "linked to a prescriber of this REMS: ask the program administrator to link you "
                                "(REMS_CDS_PRACTITIONERS).", iss=flow.issuer, practitioner=practitioner)
        try:
            # A launch of the bare app URL (no card page) opens the patient the card was about.
            page = flow.page or (f"/web/prescriber/patients/{context['remsPatientId']}"
                                 if "remsPatientId" in context else "")
            return signed_in(request, ("prescriber", prescriber), "smart", page,
                             {"iss": flow.issuer, "practitioner": practitioner, "flow": flow.id,
                              "page": page or "/web/prescriber"})
        except NotFound:
            raise SignInRefused("SMART_PRACTITIONER_UNMAPPED", "You are linked to a prescriber that does not "
                                "exist here: ask the program administrator.", iss=flow.issuer) from None
    except SignInRefused as refusal:
        return refused(request, "anonymous", flow.id, refusal, TITLE)
