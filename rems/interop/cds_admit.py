"""Who calls a CDS service: an EHR's JWT (CDS Hooks 2.0) or one of our own bearer tokens.

A JWT is accepted once (its `jti` is stored until it expires, so a replay is refused on every
replica), and its user acts only as the prescriber configured for it; the acceptance and the
mapping are audited in the same transaction that stores the `jti`. Every refusal is audited.
"""
from __future__ import annotations

import json
from datetime import datetime

from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError

from rems.adapters import orm
from rems.domain.model import Prescriber
from rems.http.auth import Principal, application, clock, refuse, request_id
from rems.interop import cds_jwt
from rems.interop.cds_jwt import BadJwt, Claims, JwksCache
from rems.interop.web import Call, Denied, caller
from rems.services.context import Context
from rems.services.lifecycle import audit

CDS_PATH = "/cds-services"
_prescriber = caller("prescriber")


def keys(request: Request) -> JwksCache:
    """The process's JWKS cache, made on first use (one per app: settings are the app's)."""
    state = request.app.state
    if getattr(state, "cds_jwks", None) is None:
        state.cds_jwks = JwksCache(application(request).settings)
    found: JwksCache = state.cds_jwks
    return found


def audiences(request: Request) -> list[str]:
    """`aud` is our CDS endpoint: the discovery URL, or the URL of the service called."""
    base = application(request).settings.public_base_url
    return list(dict.fromkeys([base + CDS_PATH, base + request.url.path]))


def _context_user(body: bytes | None) -> str | None:
    try:
        raw = json.loads(body) if body else None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    context = raw.get("context") if isinstance(raw, dict) else None
    user = context.get("userId") if isinstance(context, dict) else None
    return user if isinstance(user, str) and 0 < len(user) <= 300 else None


def _deny(request: Request, code: str, detail: str, status: int = 401, actor: str = "anonymous",
          subject: str = "anonymous") -> Denied:
    remedy = ("sign a fresh JWT (iss allow-listed, aud our CDS URL, exp, iat, sub, a new jti) with a key "
              "of the issuer's JWK Set") if status == 401 else "ask the REMS administrator to map this user"
    return Denied(status, refuse(request, actor, subject, status, code, detail, remedy).detail)


def accept(request: Request, claims: Claims, prescriber_id: str | None, now: datetime) -> Denied | None:
    """Store the jti (a replay is refused) and audit the acceptance and mapping, in one commit."""
    actor = f"prescriber:{prescriber_id}" if prescriber_id else "cds_client"
    refusal: tuple[str, str, int] | None = None
    with application(request).uow() as uow:
        if prescriber_id is not None and uow.session.get(Prescriber, prescriber_id) is None:
            refusal = ("AUTH_PRACTITIONER_UNMAPPED", f"the prescriber {prescriber_id} mapped for this user "
                       "does not exist", 403)
        else:
            uow.session.execute(delete(orm.cds_jwt_ids).where(orm.cds_jwt_ids.c.expires_at < now))
            try:
                uow.session.execute(insert(orm.cds_jwt_ids).values(
                    issuer=claims.issuer, jti=claims.jti, expires_at=claims.expires_at))
            except IntegrityError:
                refusal = ("AUTH_JWT_REPLAYED", "this JWT (jti) was already used", 401)
            else:
                audit(uow, Context(actor, now, request_id(request)), "cds_jwt", prescriber_id or "discovery",
                      "accepted", None, None, refs={"iss": claims.issuer[:200], "sub": claims.subject[:200],
                                                    "jti": claims.jti, "path": request.url.path})
                uow.commit()
    if refusal is None:
        return None
    code, detail, status = refusal
    who = ("cds_client", "cds_client") if status == 403 else ("anonymous", "anonymous")
    return _deny(request, code, detail, status, *who)  # its own transaction, after ours ended


def admit(request: Request, credentials: HTTPAuthorizationCredentials | None, body: bytes | None,
          need_prescriber: bool = True) -> Call | Denied:
    """Blocking (database, and the JWKS on a cache miss): call it in a thread."""
    if credentials is None or not cds_jwt.looks_like_jwt(credentials.credentials):
        return _prescriber(request, credentials)
    settings, now = application(request).settings, clock(request)
    try:
        claims = cds_jwt.verify(credentials.credentials, settings, keys(request), audiences(request), now)
    except BadJwt as bad:
        return _deny(request, bad.code, bad.detail)
    prescriber_id: str | None = None
    if need_prescriber:
        prescriber_id, why = cds_jwt.practitioner(settings, claims, _context_user(body))
        if prescriber_id is None:
            return _deny(request, "AUTH_PRACTITIONER_UNMAPPED", why, 403, "cds_client", "cds_client")
    refused = accept(request, claims, prescriber_id, now)
    if refused is not None:
        return refused
    role, actor_id = ("prescriber", prescriber_id) if prescriber_id else ("cds_client", "discovery")
    return Call(request, Principal(role, actor_id, f"jwt:{claims.jti}"[:64]), claims.issuer)
