"""Sign in through an OpenID Connect provider (issue 18 item 4), and what the SMART launch shares.

Authorization code flow with PKCE (S256), `state` and `nonce` (authlib's client). What must come
back is kept in a signed, HttpOnly cookie that lives for FLOW_SECONDS: the state, the nonce, the
PKCE verifier and where to go. The ID token is verified here, on the application's clock:
signature against the provider's JWK Set (from its discovery document), `iss`, `aud`, `exp`,
`iat`, `nonce`. Its subject becomes one of our actors only through REMS_OIDC_SUBJECTS; anyone else
is refused with a page that says so. Every step is an audit entry (entity `sign_in`).
"""
# No `from __future__ import annotations`: FastAPI resolves the annotations at run time.

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from fastapi import APIRouter, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from starlette.responses import RedirectResponse, Response

from rems.domain.errors import NotFound
from rems.http.auth import application, clock, count_anonymous, refuse, request_id
from rems.services.access.sign_in import open_session, record_step
from rems.services.context import Context
from rems.settings import Settings
from rems.web.pages import HEADERS, HOME, Visitor, cookies, render
from rems.web.session import SESSION_HOURS, WebSession

router = APIRouter(prefix="/web", include_in_schema=False)
FLOW_COOKIE = "rems_sign_in"
FLOW_SECONDS = 600  # the provider's page must be answered within this
ALGORITHMS = ["RS256", "RS384", "ES256", "ES384", "PS256"]
_SALT = "rems.web.sign-in.v1"


class SignInRefused(Exception):
    """A sign-in or launch that cannot go on: `code` for the audit, `detail` for the person."""

    def __init__(self, code: str, detail: str, **refs: str) -> None:
        super().__init__(detail)
        self.code, self.detail, self.refs = code, detail, refs


@dataclass(frozen=True)
class Flow:
    """What the callback must find again: one sign-in or launch attempt."""

    kind: str  # "oidc" or "smart"
    id: str  # names the attempt in the audit trail
    state: str
    nonce: str
    verifier: str
    issuer: str  # the OpenID provider, or the EHR's FHIR base URL (`iss`)
    page: str = ""  # SMART: the dashboard page the card linked to

    @classmethod
    def start(cls, kind: str, issuer: str, page: str = "") -> "Flow":
        return cls(kind, secrets.token_hex(8), generate_token(32), generate_token(32), generate_token(48),
                   issuer, page)


def _signer(request: Request) -> URLSafeTimedSerializer:
    secret = application(request).settings.session_secret
    assert secret is not None
    return URLSafeTimedSerializer(secret.get_secret_value(), salt=_SALT)


def keep_flow(request: Request, response: Response, flow: Flow) -> None:
    response.set_cookie(FLOW_COOKIE, _signer(request).dumps(flow.__dict__), max_age=FLOW_SECONDS,
                        path="/web", httponly=True, samesite="lax",
                        secure=application(request).settings.env == "production" or request.url.scheme == "https")


def take_flow(request: Request, kind: str, state: str) -> Flow:
    """The attempt this callback answers; a missing, stale, foreign or other state is refused."""
    raw = request.cookies.get(FLOW_COOKIE, "")
    try:
        data: Any = _signer(request).loads(raw, max_age=FLOW_SECONDS) if raw and len(raw) < 4096 else None
    except BadSignature:
        data = None
    if not isinstance(data, dict) or data.get("kind") != kind:
        raise SignInRefused("SIGN_IN_NO_ATTEMPT", "This sign-in was not started here, or took longer than "
                            f"{FLOW_SECONDS // 60} minutes: start again.")
    flow = Flow(**{k: str(data.get(k, "")) for k in Flow.__dataclass_fields__})
    if not state or not hmac.compare_digest(state.encode(), flow.state.encode()):
        raise SignInRefused("SIGN_IN_STATE_MISMATCH", "The answer from the sign-in service does not belong to "
                            "the sign-in started in this browser (state mismatch): start again.")
    return flow


def fetch_json(settings: Settings, url: str) -> dict[str, Any]:
    try:
        response = httpx.get(url, timeout=settings.oidc_timeout_seconds, follow_redirects=False)
        response.raise_for_status()
        data = response.json()
    except (httpx.HTTPError, ValueError):
        raise SignInRefused("SIGN_IN_PROVIDER_UNREACHABLE", "The sign-in service could not be reached or "
                            "answered nonsense: try again later or ask your administrator.") from None
    if not isinstance(data, dict):
        raise SignInRefused("SIGN_IN_PROVIDER_UNREACHABLE", "The sign-in service answered nonsense.")
    return data


def exchange(settings: Settings, endpoints: dict[str, Any], client_id: str, secret: str | None,
             redirect_uri: str, code: str, flow: Flow) -> dict[str, Any]:
    """The code for tokens at the token endpoint, with the PKCE verifier (authlib)."""
    with OAuth2Client(client_id, secret, redirect_uri=redirect_uri, timeout=settings.oidc_timeout_seconds,
                      token_endpoint_auth_method="client_secret_basic" if secret else "none") as client:
        try:
            token: dict[str, Any] = dict(client.fetch_token(str(endpoints["token_endpoint"]), code=code,
                                                             code_verifier=flow.verifier))
        except Exception:  # authlib raises its OAuthError, httpx its own: both mean no token
            raise SignInRefused("SIGN_IN_CODE_REFUSED", "The sign-in service refused to complete the sign-in: "
                                "start again.") from None
    return token


def authorize_url(endpoints: dict[str, Any], client_id: str, redirect_uri: str, scope: str, flow: Flow,
                  **extra: str) -> str:
    client = OAuth2Client(client_id, redirect_uri=redirect_uri, scope=scope, code_challenge_method="S256")
    url, _ = client.create_authorization_url(str(endpoints["authorization_endpoint"]), state=flow.state,
                                             code_verifier=flow.verifier, nonce=flow.nonce, **extra)
    return str(url)


def verify_id_token(settings: Settings, id_token: object, jwks_uri: str, issuer: str, client_id: str,
                    nonce: str, now: datetime) -> dict[str, Any]:
    """The ID token's claims, verified (OpenID Connect Core 3.1.3.7), or SignInRefused naming why."""
    if not isinstance(id_token, str):
        raise SignInRefused("SIGN_IN_NO_ID_TOKEN", "The sign-in service sent no ID token.")
    keys = fetch_json(settings, jwks_uri)
    try:
        token = jwt.decode(id_token, KeySet.import_key_set(keys), algorithms=ALGORITHMS)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError):
        raise SignInRefused("SIGN_IN_ID_TOKEN_SIGNATURE", "The sign-in service's answer is not signed by it "
                            "(ID token signature): start again.") from None
    claims: dict[str, Any] = dict(token.claims)
    at, aud = int(now.timestamp()), claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    checks = [("iss", claims.get("iss") == issuer, "SIGN_IN_ID_TOKEN_ISSUER", "issued by another service"),
              ("aud", client_id in audiences, "SIGN_IN_ID_TOKEN_AUDIENCE", "meant for another site"),
              ("exp", isinstance(claims.get("exp"), int) and at < claims["exp"] + settings.oidc_leeway_seconds,
               "SIGN_IN_ID_TOKEN_EXPIRED", "expired"),
              ("iat", isinstance(claims.get("iat"), int) and claims["iat"] <= at + settings.oidc_leeway_seconds,
               "SIGN_IN_ID_TOKEN_NOT_YET_VALID", "issued in the future"),
              ("nonce", isinstance(claims.get("nonce"), str) and hmac.compare_digest(
                  claims["nonce"].encode(), nonce.encode()), "SIGN_IN_NONCE_MISMATCH", "not the answer to this "
               "sign-in (nonce mismatch)"),
              ("sub", isinstance(claims.get("sub"), str) and bool(claims["sub"]), "SIGN_IN_NO_SUBJECT", "anonymous")]
    for _, good, code, why in checks:
        if not good:
            raise SignInRefused(code, f"The sign-in service's ID token is {why}: start again.")
    return claims


def step(request: Request, actor: str, flow_id: str, what: str, **refs: str) -> None:
    ctx = Context(actor, clock(request), request_id(request))
    with application(request).uow() as uow:
        record_step(uow, ctx, flow_id, what, refs)


def refused(request: Request, actor: str, flow_id: str, error: SignInRefused, title: str) -> Response:
    """The clear page of a refused sign-in or launch, after its audit entry. Counted first as every
    anonymous refusal is (issue 15 item 8): past the rate, a 429 and nothing written."""
    status = 403 if error.code.endswith(("UNMAPPED", "NOT_ALLOWED", "UNKNOWN_SUBJECT")) else 400
    refuse(request, "anonymous", "anonymous", status, error.code, "sign-in refused", "start again")
    step(request, actor, flow_id, "refused", **error.refs, code=error.code)
    response = render(request, Visitor(request, None), "error.html", {"title": title, "detail": error.detail},
                      status)
    response.delete_cookie(FLOW_COOKIE, path="/web")
    return response


def away(request: Request, flow: Flow, url: str, what: str, **refs: str) -> Response:
    """Off to the provider's (or EHR's) authorization endpoint, the attempt audited and kept. An
    anonymous start writes an audit row, so it is counted at the anonymous per-client rate first:
    a flood of starts gets 429s, not audit rows (SIGN_IN_STARTED in the anonymous counts)."""
    count_anonymous(request, "SIGN_IN_STARTED")
    step(request, "anonymous", flow.id, what, **refs)
    response = RedirectResponse(url, status_code=303, headers=HEADERS)
    keep_flow(request, response, flow)
    return response


def answered(code: str, error: str, who: str) -> str:
    """The authorization code the provider sent back, or why there is none."""
    if error or not code:
        raise SignInRefused("SIGN_IN_DENIED", f"{who} did not sign you in ({error[:80] or 'no code'}): start again.")
    return code[:2000]


def signed_in(request: Request, actor: tuple[str, str], via: str, target: str, refs: dict[str, str]) -> Response:
    """A fresh dashboard session for `actor` (role, id), then `target`."""
    role, actor_id = actor
    ctx = Context(f"{role}:{actor_id}", clock(request), request_id(request))
    with application(request).uow() as uow:
        token = open_session(uow, ctx, role, actor_id, via, SESSION_HOURS, refs)
    response = RedirectResponse(target or HOME[role], status_code=303, headers=HEADERS)
    response.delete_cookie(FLOW_COOKIE, path="/web")
    cookies(request).write(response, request, WebSession.fresh(token.id, clock(request), own_token=True))
    return response


# -- OpenID Connect sign-in ---------------------------------------------------------------------

def _callback_url(settings: Settings) -> str:
    return f"{settings.public_base_url}/web/login/oidc/callback"


def _discovery(settings: Settings) -> dict[str, Any]:
    assert settings.oidc_issuer is not None
    found = fetch_json(settings, settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration")
    if found.get("issuer") != settings.oidc_issuer or not all(
            isinstance(found.get(k), str) for k in ("authorization_endpoint", "token_endpoint", "jwks_uri")):
        raise SignInRefused("SIGN_IN_PROVIDER_MISCONFIGURED", "The sign-in service describes itself as another "
                            "service (issuer) or lacks an endpoint: ask your administrator.")
    return found


@router.get("/login/oidc")
def oidc_start(request: Request) -> Response:
    settings = application(request).settings
    if settings.oidc_issuer is None or settings.oidc_client_id is None:
        return render(request, Visitor(request, None), "error.html", {
            "title": "Not available", "detail": "Sign-in through a provider is not configured here: "
                                                 "sign in with your access token."}, 404)
    flow = Flow.start("oidc", settings.oidc_issuer)
    try:
        url = authorize_url(_discovery(settings), settings.oidc_client_id, _callback_url(settings),
                            settings.oidc_scope, flow)
    except SignInRefused as error:
        return refused(request, "anonymous", flow.id, error, "Sign-in refused")
    return away(request, flow, url, "oidc_authorize", issuer=flow.issuer)


@router.get("/login/oidc/callback")
def oidc_callback(request: Request, state: str = "", code: str = "", error: str = "") -> Response:
    settings = application(request).settings
    try:
        flow = take_flow(request, "oidc", state[:200])
    except SignInRefused as refusal:
        return refused(request, "anonymous", "unknown", refusal, "Sign-in refused")
    try:
        given = answered(code, error, "The sign-in service")
        assert settings.oidc_client_id is not None
        endpoints = _discovery(settings)
        secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else None
        tokens = exchange(settings, endpoints, settings.oidc_client_id, secret, _callback_url(settings),
                          given, flow)
        claims = verify_id_token(settings, tokens.get("id_token"), endpoints["jwks_uri"], flow.issuer,
                                 settings.oidc_client_id, flow.nonce, clock(request))
        mapped = settings.oidc_subjects.get(claims["sub"])
        if mapped is None:
            raise SignInRefused("SIGN_IN_UNKNOWN_SUBJECT", "You signed in at the sign-in service, but your "
                                "account is not linked to anyone on this REMS dashboard: ask the program "
                                "administrator to link it (REMS_OIDC_SUBJECTS).",
                                issuer=flow.issuer, subject=claims["sub"])
        role, _, actor_id = mapped.partition(":")
        try:
            return signed_in(request, (role, actor_id), "oidc", "", {"issuer": flow.issuer, "subject": claims["sub"],
                                                                     "flow": flow.id})
        except NotFound:
            raise SignInRefused("SIGN_IN_UNKNOWN_SUBJECT", "Your account is linked to a record that does not "
                                "exist here: ask the program administrator.") from None
    except SignInRefused as refusal:
        return refused(request, "anonymous", flow.id, refusal, "Sign-in refused")
