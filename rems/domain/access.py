"""Who may call the HTTP API: bearer tokens bound to one actor and one role (issue 3)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Role = Literal["prescriber", "pharmacy", "patient", "admin"]
ROLES: tuple[Role, ...] = ("prescriber", "pharmacy", "patient", "admin")


def token_hash(secret: str) -> str:
    """Only this digest is stored: a leaked table gives no usable token."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(eq=False)
class ApiToken:
    id: str
    role: str
    actor_id: str
    token_hash: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at

    @property
    def actor(self) -> str:
        """How this caller appears in the audit log, e.g. `pharmacy:phm_0a1b2c3d4e5f`."""
        return f"{self.role}:{self.actor_id}"
