"""The services' ports (issue 19 item 1): `typing.Protocol`s the services speak to; the SQLAlchemy
side is rems/adapters/ (rems/adapters/uow.py builds each adapter as an attribute)."""

from __future__ import annotations

from typing import Protocol

from rems.domain.model import AuditEntry
from rems.services.ports.audit import AuditLog
from rems.services.ports.programs import ProgramRecords
from rems.services.ports.reports import ReportQueries
from rems.services.ports.transfer import TransferStore


class UnitOfWork(Protocol):
    """One transaction, and the store-backed things the services reach through it."""

    # lane records
    def stage_audit(self, entry: AuditEntry) -> None:
        """Issue 6: the entry is written, hash-chained, when this unit of work commits (dropped on
        a rollback). (Lane uow declares it too: keep one.)"""

    @property
    def audit(self) -> AuditLog: ...
    @property
    def reports(self) -> ReportQueries: ...
    @property
    def transfer(self) -> TransferStore: ...
    @property
    def program_records(self) -> ProgramRecords: ...
    # end lane records
