"""The unit of work of a bulk CSV import (issue 17 item 8; rems/services/transfer/csv_import.py):
all rows in one transaction, each in a savepoint, one commit at the end."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import SessionTransaction
from sqlalchemy.orm.exc import StaleDataError

from rems.adapters.audit_chain import SEALER
from rems.adapters.uow import UnitOfWork
from rems.domain.errors import Conflict


class Batch(UnitOfWork):
    """A unit of work whose use cases' commits only flush: the import commits once, at its end.
    A failed flush is a Conflict that leaves the transaction to the row's savepoint (the plain
    unit of work rolls everything back, which would undo the rows accepted before)."""

    def __enter__(self) -> Batch:
        super().__enter__()
        return self

    def commit(self) -> None:
        self.flush()

    def flush(self) -> None:
        try:
            self.session.flush()
        except (StaleDataError, IntegrityError) as exc:
            raise Conflict("the row conflicts with a record already there") from exc

    def commit_all(self) -> None:
        UnitOfWork.commit(self)

    def rows(self) -> _Rows:
        """Each row's savepoint. SQLAlchemy runs the commit hooks on a savepoint's release too: the
        audit entries a row staged are then written to audit_pending inside the transaction (and
        go with it), while the sealer is kept aside until the one real commit, which wakes it (else
        it would wait, in a connection of its own, for the write lock this transaction holds)."""
        return _Rows(self)


class _Rows:
    def __init__(self, batch: Batch) -> None:
        self.batch, self.sealer = batch, batch.session.info.pop(SEALER, None)

    def savepoint(self) -> SessionTransaction:
        return self.batch.session.begin_nested()

    def commit(self) -> None:
        info = self.batch.session.info
        if self.sealer is not None:
            info[SEALER] = self.sealer
        self.batch.commit_all()
        if self.sealer is not None:
            self.sealer.committed()  # the entries were written at the savepoints: chain them now
