"""The program lifecycle's port (issue 19 item 1): recorded status changes and waiver uses. The SQL
side: rems/adapters/programs.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from rems.domain.lifecycle import ProgramStatusChange, WaiverUse


class ProgramRecords(Protocol):
    """`uow.program_records`."""

    def status_changes(self, program_id: str) -> list[ProgramStatusChange]:
        """The program's recorded lifecycle changes, oldest recorded first, as read-only records."""

    def waiver_uses(self, program_id: str, waiver: str | None, limit: int) -> Sequence[WaiverUse]:
        """The reconciliation list, oldest first (one waiver's uses when named)."""

    def waiver_uses_page(self, program_id: str, waiver: str | None, page: int,
                         size: int) -> tuple[int, Sequence[WaiverUse], Sequence[str]]:
        """(total, one page newest first, every waiver name used in the program)."""
