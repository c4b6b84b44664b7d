"""The dashboard's session cookie: signed, HttpOnly, SameSite=Lax, carrying only a reference.

Lax, not Strict: a link to the dashboard followed from elsewhere (a reminder e-mail) keeps the
session; no GET changes anything, and every POST must carry the session's CSRF token anyway.
The cookie holds the id of the API token the user signed in with and a CSRF secret, never the
token itself. Every request looks the token up again, so revoking or expiring it (`rems token
revoke`) ends every session opened with it at once.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from rems.api.auth import Principal
from rems.domain.access import ApiToken
from rems.domain.errors import NotFound
from rems.services.uow import UnitOfWork

COOKIE = "rems_session"
SESSION_HOURS = 12  # a signed cookie older than this is refused; sign in again
_SALT = "rems.web.session.v1"


@dataclass(frozen=True)
class WebSession:
    csrf: str
    token_id: str | None = None

    @classmethod
    def fresh(cls, token_id: str | None = None) -> WebSession:
        return cls(secrets.token_urlsafe(32), token_id)

    def csrf_matches(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.csrf.encode())


class Cookies:
    """Sign and read the session cookie with the settings' session secret."""

    def __init__(self, secret: str, production: bool) -> None:
        self._signer = URLSafeTimedSerializer(secret, salt=_SALT)
        self._production = production

    def read(self, request: Request) -> WebSession | None:
        raw = request.cookies.get(COOKIE)
        if not raw or len(raw) > 4096:
            return None
        try:
            data: Any = self._signer.loads(raw, max_age=SESSION_HOURS * 3600)
        except BadSignature:  # also SignatureExpired: tampered, foreign or too old
            return None
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return None
        token_id = data.get("t")
        return WebSession(data["c"], token_id if isinstance(token_id, str) else None)

    def write(self, response: Response, request: Request, session: WebSession) -> None:
        response.set_cookie(COOKIE, self._signer.dumps({"c": session.csrf, "t": session.token_id}),
                            max_age=SESSION_HOURS * 3600, path="/", httponly=True, samesite="lax",
                            secure=self._production or request.url.scheme == "https")

    def clear(self, response: Response, request: Request) -> None:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax",
                               secure=self._production or request.url.scheme == "https")


def principal_of(uow: UnitOfWork, token_id: str, now: datetime) -> tuple[Principal | None, str]:
    """The signed-in principal, or why the session no longer holds ("revoked", "expired", "unknown")."""
    try:
        token = uow.get(ApiToken, token_id)
    except NotFound:
        return None, "unknown"
    if token.revoked_at is not None:
        return None, "revoked"
    if not token.usable(now):
        return None, "expired"
    return Principal(token.role, token.actor_id, token.id), ""
