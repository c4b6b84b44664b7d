"""The dashboard's session cookie: signed, HttpOnly, SameSite=Lax, carrying only a reference.

Lax, not Strict: a link to the dashboard followed from elsewhere (a reminder e-mail) keeps the
session; no GET changes anything, and every POST must carry the session's CSRF token anyway.
The cookie holds the id of the API token the user signed in with and a CSRF secret, never the
token itself. Every request looks the token up again, so revoking or expiring it (`rems token
revoke`) ends every session opened with it at once.

Issue 18 item 4: a session also ends when unused for REMS_WEB_IDLE_MINUTES (shared pharmacy
workstations) and SESSION_HOURS after sign-in whatever its use. Both are judged on the
application's clock (the cookie carries the sign-in and last-request instants, signed), so tests
move time with the injected clock; every page a signed-in user gets renews the last-request instant.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from rems.adapters.uow import UnitOfWork
from rems.domain.access import ApiToken
from rems.domain.errors import NotFound
from rems.http.auth import Principal

COOKIE = "rems_session"
SESSION_HOURS = 12  # a signed cookie older than this is refused; sign in again
_SALT = "rems.web.session.v1"


@dataclass(frozen=True)
class WebSession:
    csrf: str
    token_id: str | None = None
    started: int | None = None  # sign-in, epoch seconds of the application's clock
    seen: int | None = None  # the last request of the signed-in user, likewise
    # Issue 18 item 4: the token was made for this session by an OpenID Connect or SMART sign-in
    # (rems/services/access/sign_in.py): signing out revokes it, so the session cannot come back.
    own_token: bool = False

    @classmethod
    def fresh(cls, token_id: str | None = None, now: datetime | None = None, own_token: bool = False) -> WebSession:
        at = int(now.timestamp()) if now is not None else None
        return cls(secrets.token_urlsafe(32), token_id, at, at, own_token)

    def touched(self, now: datetime) -> WebSession:
        return replace(self, seen=int(now.timestamp()))

    def ended(self, now: datetime, idle_minutes: int) -> str:
        """Why a signed-in session no longer holds at `now`: "absolute" (SESSION_HOURS after sign-in),
        "idle" (no request for `idle_minutes`), or "" while it holds."""
        if self.token_id is None:
            return ""
        if self.started is None or self.seen is None:  # signed before idle timeouts existed
            return "idle"
        at = now.timestamp()
        if at - self.started >= SESSION_HOURS * 3600:
            return "absolute"
        if at - self.seen >= idle_minutes * 60:
            return "idle"
        return ""

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
        token_id, started, seen = data.get("t"), data.get("s"), data.get("l")
        return WebSession(data["c"], token_id if isinstance(token_id, str) else None,
                          started if isinstance(started, int) else None, seen if isinstance(seen, int) else None,
                          data.get("o") is True)

    def write(self, response: Response, request: Request, session: WebSession) -> None:
        response.set_cookie(COOKIE, self._signer.dumps({"c": session.csrf, "t": session.token_id,
                                                     "s": session.started, "l": session.seen,
                                                     "o": session.own_token}),
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
