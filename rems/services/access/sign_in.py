"""A dashboard session opened by an outside sign-in (OpenID Connect, SMART launch; issue 18 item 4,
issue 16 item 4): a token of our own for the mapped actor, never shown to anyone, that lasts as
long as a session may (rems.web.session.SESSION_HOURS), so revoking it ends the session as for
the token sign-in. Its secret is thrown away: only the hash is stored, and the cookie names the id.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import timedelta

from rems.domain.access import ApiToken, token_hash
from rems.domain.model import Pharmacy, Prescriber
from rems.services.context import Context
from rems.services.lifecycle import audit, new_id
from rems.services.ports import UnitOfWork

_RECORD = {"prescriber": Prescriber, "pharmacy": Pharmacy}


def open_session(uow: UnitOfWork, ctx: Context, role: str, actor_id: str, via: str, hours: int,
                 refs: Mapping[str, str]) -> ApiToken:
    """`via` names the sign-in ("oidc", "smart") in the audit entry; `refs` carries the provider's
    issuer and subject (ids only). An actor with no record is refused (NotFound)."""
    if role in _RECORD:
        uow.get(_RECORD[role], actor_id)
    token = ApiToken(id=new_id("tok"), role=role, actor_id=actor_id,
                     token_hash=token_hash(secrets.token_urlsafe(32)), created_at=ctx.now,
                     expires_at=ctx.now + timedelta(hours=hours))
    uow.add(token)
    audit(uow, ctx, "api_token", token.id, f"sign_in_{via}", None, "active",
          refs={**refs, "actor": f"{role}:{actor_id}"})
    uow.commit()
    return token


def record_step(uow: UnitOfWork, ctx: Context, flow: str, step: str, refs: Mapping[str, str]) -> None:
    """One audited step of a sign-in or launch (`flow`: a random id per attempt), refusals included."""
    audit(uow, ctx, "sign_in", flow, step, None, None, refs=refs)
    uow.commit()
