"""The services' ports (issue 19 item 1): what a service may ask of the store, as typing.Protocol
classes. A service receives a unit of work typed as `UnitOfWork` below and reaches every
store-backed thing through its attributes; the SQLAlchemy side is rems/adapters/uow.py.

(Lane due: only this lane's block is here; the uow lane declares the transaction methods and the
repositories, the integrator merges the blocks.)"""

from __future__ import annotations

from typing import Protocol

from rems.services.ports.due import DueQueries
from rems.services.ports.outbox import Outbox
from rems.services.ports.views import ViewQueries


class UnitOfWork(Protocol):
    # lane due: the reminder sweep's queries, the outbox, the staff read models
    @property
    def due(self) -> DueQueries: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def views(self) -> ViewQueries: ...
    # end lane due
