"""The program lifecycle's records (issue 17 items 4, 5; issue 19 item 1): the status changes an
administrator recorded and the reconciliation list of waiver uses. The decisions are
rems/services/programs/program_status.py's and program_views.py's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, func, select

from rems.adapters import orm
from rems.adapters.gate_reads import detached
from rems.domain.lifecycle import ProgramStatusChange, WaiverUse

if TYPE_CHECKING:
    from rems.adapters.uow import UnitOfWork

_CHANGES = (select(orm.program_status_changes)  # built once: its cache key is not computed per call
            .where(orm.program_status_changes.c.program_id == bindparam("program_id"))
            .order_by(orm.program_status_changes.c.recorded_at))


class ProgramRecords:
    """`uow.program_records` (rems.services.ports.programs.ProgramRecords)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def status_changes(self, program_id: str) -> list[ProgramStatusChange]:
        # Issue 14 item 3: every confirmation and dispense reads these; read-only records, no ORM load.
        rows = self._uow.connection().execute(_CHANGES, {"program_id": program_id})
        return [detached(ProgramStatusChange, dict(row._mapping)) for row in rows]

    def waiver_uses(self, program_id: str, waiver: str | None, limit: int) -> Sequence[WaiverUse]:
        t = orm.waiver_uses.c
        where = [t.program_id == program_id] + ([t.waiver == waiver] if waiver else [])
        return self._uow.session.scalars(select(WaiverUse).where(*where).order_by(t.at, t.id).limit(limit)).all()

    def waiver_uses_page(self, program_id: str, waiver: str | None, page: int,
                         size: int) -> tuple[int, Sequence[WaiverUse], Sequence[str]]:
        """(total, the page's uses newest first, every waiver name with a use in the program)."""
        session = self._uow.session
        t = orm.waiver_uses.c
        where = [t.program_id == program_id] + ([t.waiver == waiver] if waiver else [])
        total = session.scalar(select(func.count()).select_from(orm.waiver_uses).where(*where)) or 0
        rows = session.scalars(select(WaiverUse).where(*where).order_by(t.at.desc(), t.id.desc())
                               .limit(size).offset((page - 1) * size)).all()
        names = session.scalars(select(t.waiver).where(t.program_id == program_id).distinct()
                                .order_by(t.waiver)).all()
        return int(total), rows, names
