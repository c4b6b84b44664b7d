"""API bearer tokens: issued for one actor and role, shown once, stored as a hash (issue 3)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import Field

from rems.domain.access import ApiToken, Role, token_hash
from rems.domain.errors import InvalidInput
from rems.domain.model import Patient, Pharmacy, Prescriber
from rems.services.commands import Command
from rems.services.context import Context
from rems.services.lifecycle import audit, new_id
from rems.services.ports import UnitOfWork

_ADMIN_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,32}$")
_RECORD = {"prescriber": Prescriber, "pharmacy": Pharmacy, "patient": Patient}


class IssueToken(Command):
    role: Role
    actor_id: Annotated[str, Field(min_length=1, max_length=32)]
    expires_in_days: Annotated[int, Field(ge=1, le=3650)] = 90


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # returned once, never stored


def issue_token(uow: UnitOfWork, ctx: Context, cmd: IssueToken) -> IssuedToken:
    """A token for an existing prescriber, pharmacy or patient, or for a named administrator."""
    if cmd.role == "admin":
        if not _ADMIN_NAME.match(cmd.actor_id):
            raise InvalidInput("actor_id", "an administrator name: letters, digits, _ . @ - (32 at most)")
    else:
        uow.get(_RECORD[cmd.role], cmd.actor_id)  # NotFound: a token for nobody is refused
    secret = secrets.token_urlsafe(32)
    token = ApiToken(id=new_id("tok"), role=cmd.role, actor_id=cmd.actor_id,
                     token_hash=token_hash(secret), created_at=ctx.now,
                     expires_at=ctx.now + timedelta(days=cmd.expires_in_days))
    uow.add(token)
    audit(uow, ctx, "api_token", token.id, "create", None, "active")
    uow.commit()
    return IssuedToken(token, secret)


def revoke_token(uow: UnitOfWork, ctx: Context, token_id: str) -> ApiToken:
    """Revoking twice is harmless: the first revocation time is kept."""
    token = uow.get(ApiToken, token_id, lock=True)
    if token.revoked_at is None:
        token.revoked_at = ctx.now
        audit(uow, ctx, "api_token", token.id, "revoke", "active", "revoked")
        uow.commit()
    return token


def authenticate(uow: UnitOfWork, now: datetime, secret: str) -> tuple[ApiToken | None, str]:
    """The token a secret names, if any, and why it is refused: "unknown", "revoked", "expired",
    or "" when it is usable."""
    token = uow.tokens.by_hash(token_hash(secret))
    if token is None:
        return None, "unknown"
    if token.revoked_at is not None:
        return token, "revoked"
    if not token.usable(now):
        return token, "expired"
    return token, ""
