"""The audit log as a hash chain (21 CFR Part 11 style), its pure part: each entry stores the hash
of the entry before it and its own hash over a canonical serialization of its content.

    hash(n) = SHA-256(hash(n-1) || canonical(n))      hash(0) = GENESIS

The writing and reading of rows (staging into `audit_pending`, sealing into `audit_log`, the head)
is rems/adapters/audit_chain.py's; verification is rems/services/audit/audit_verify.py's;
docs/audit.md gives the design.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rems.domain.model import AuditEntry

GENESIS = "0" * 64
# The content an entry's hash covers, in this order; changing it invalidates every stored chain.
FIELDS = ("seq", "at", "actor", "entity", "entity_id", "trigger", "from_state", "to_state", "reasons",
          "request_id", "refs")
STAGED = FIELDS[1:]  # what a writer stores; the sealer adds the sequence


def _moment(value: Any) -> Any:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def canonical(content: Mapping[str, Any]) -> bytes:
    """Sorted-key compact JSON of the FIELDS, timestamps as UTC ISO 8601 with microseconds."""
    document = {name: _moment(content.get(name)) for name in FIELDS}
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      default=str).encode("ascii")


def entry_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(content)).hexdigest()


def content_of(entry: AuditEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in FIELDS}
