"""The audit chain's ports (issue 19 item 1; docs/audit.md): what the services ask of the store
for the hash chain. The SQL side: rems/adapters/audit_chain.py; the hash: rems/domain/audit_chain.py."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol

from rems.domain.model import AuditEntry


class AuditLog(Protocol):
    """`uow.audit`: this unit of work's entries staged by `uow.stage_audit` (until it commits) and
    the stored chain."""

    def pending(self) -> list[AuditEntry]:
        """The entries staged and not yet committed."""

    def discard_pending(self) -> None:
        """Drop the staged entries."""

    def seal_committed(self) -> None:
        """Chain what writers committed so far (a broken chain is left for the walk to report)."""

    def head(self) -> tuple[int, str] | None:
        """The stored head (sequence, hash), None if its record is missing."""

    def walk(self) -> AbstractContextManager[Iterable[Mapping[Any, Any]]]:
        """Every entry, in one snapshot, by sequence (unchained ones last), closed on exit."""

    def in_order(self) -> Iterable[Mapping[Any, Any]]:
        """Every entry by sequence."""


class Sealing(Protocol):
    """The sealer's store: chain the committed pending entries."""

    def seal_all(self, probe: bool = True) -> int:
        """Chain every entry committed before this call; how many. `probe`: look with a plain
        read first and take no lock if nothing is pending."""
