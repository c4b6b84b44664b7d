"""The services' ports (issue 19 item 1): what a service may ask of the store, as typing.Protocol
classes. A service receives a unit of work typed as `UnitOfWork` below and reaches every
store-backed thing through its attributes; the SQLAlchemy side is rems/adapters/uow.py, which
builds each adapter as an attribute on first use."""

from __future__ import annotations

from typing import Protocol

from rems.domain.model import AuditEntry
from rems.services.ports.audit import AuditLog
from rems.services.ports.due import DueQueries
from rems.services.ports.gate import Attempts, GateReads, Optimistic
from rems.services.ports.outbox import Outbox
from rems.services.ports.programs import ProgramRecords
from rems.services.ports.reports import ReportQueries
from rems.services.ports.transfer import TransferStore
from rems.services.ports.views import ViewQueries


class UnitOfWork(Protocol):
    """One transaction, and the store-backed things the services reach through it."""

    # lane due: the reminder sweep's queries, the outbox, the staff read models
    @property
    def due(self) -> DueQueries: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def views(self) -> ViewQueries: ...
    # end lane due

    # lane records
    def stage_audit(self, entry: AuditEntry) -> None:
        """Issue 6: the entry is written, hash-chained, when this unit of work commits (dropped on
        a rollback)."""

    @property
    def audit(self) -> AuditLog: ...
    @property
    def reports(self) -> ReportQueries: ...
    @property
    def transfer(self) -> TransferStore: ...
    @property
    def program_records(self) -> ProgramRecords: ...
    # end lane records

    # lane gate
    @property
    def gate(self) -> GateReads: ...
    @property
    def optimistic(self) -> Optimistic: ...
    @property
    def attempts(self) -> Attempts: ...
    # end lane gate
