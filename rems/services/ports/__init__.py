"""Ports: what a service may ask of the store (issue 19 item 1, cosmicpython's pattern).

A service receives one thing, a unit of work typed as `UnitOfWork` below, and reaches every
store-backed thing through it: the transaction's methods, and the repositories and query adapters
as attributes. rems/adapters/uow.py implements it over SQLAlchemy (the entry points build that one);
tests/fakes/uow.py in memory. No SQLAlchemy here: a port says what, the adapter how."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

from rems.domain import model
from rems.services.ports.audit import AuditLog
from rems.services.ports.due import DueQueries
from rems.services.ports.gate import Attempts, GateReads, Optimistic
from rems.services.ports.outbox import Outbox
from rems.services.ports.programs import ProgramRecords
from rems.services.ports.reports import ReportQueries
from rems.services.ports.repositories import (
    AuditTrails,
    Certifications,
    Confirmations,
    Contacts,
    PatientRecords,
    Persons,
    Prescriptions,
    Relaxations,
    Tokens,
)
from rems.services.ports.transfer import TransferStore
from rems.services.ports.views import ViewQueries
from workflows.program import Program

T = TypeVar("T")

__all__ = ["AuditTrails", "Certifications", "Confirmations", "Contacts", "PatientRecords", "Persons",
           "Prescriptions", "Relaxations", "Tokens", "UnitOfWork"]


class UnitOfWork(Protocol):
    """One transaction: nothing is kept until `commit`; leaving the `with` block rolls back what
    was not committed (a lost race becomes a Conflict, STYLE 6)."""

    @property
    def programs(self) -> Mapping[str, Program]:
        """The loaded program files, by id."""
        ...

    @property
    def write(self) -> bool:
        """A writing unit of work (the default) may commit; a read-only one only reads."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None: ...

    def commit(self) -> None:
        """Keep what this transaction did (a concurrent change first: Conflict, nothing kept)."""
        ...

    def rollback(self) -> None:
        """Forget what this transaction did since its last commit."""
        ...

    def flush(self) -> None:
        """Send pending changes to the store now (constraints checked; Conflict if one fails)."""
        ...

    def add(self, entity: Any) -> None:
        """A new domain record, kept at the commit."""
        ...

    def get(self, cls: type[T], key: str, lock: bool = False) -> T:
        """The record of `cls` with this id (NotFound otherwise); `lock`: held until the commit."""
        ...

    def program(self, program_id: str) -> Program:
        """The program with this id (NotFound otherwise)."""
        ...

    def stage_audit(self, entry: model.AuditEntry) -> None:
        """Issue 6: the entry is written, hash-chained, when this unit of work commits (dropped on
        a rollback)."""
        ...

    def snapshot(self) -> UnitOfWork | None:
        """Issue 14 item 3: where the store has one write lock (SQLite), a read-only unit of work
        beside this one to decide before taking it; None otherwise."""
        ...

    def sibling(self) -> UnitOfWork:
        """A separate unit of work on the same store, committing on its own (issue 6)."""
        ...

    # -- issue 13: one lock order for everything that decides a dispense ---------------------
    def lock_person(self, person_id: str | None) -> None:
        """R28, R34: the person's row, so that enrollments of one person serialise."""
        ...

    def lock_patient(self, patient: model.Patient) -> None:
        """R30, R34: a patient already read, read again under its row lock."""
        ...

    def lock_prescription(self, prescription_id: str | None = None, *,
                          number: str | None = None) -> model.Prescription:
        """A prescription locked for a confirmation or a dispense, after its patient and person."""
        ...

    # -- the repositories (rems/services/ports/repositories.py) --------------------------------
    @property
    def patients(self) -> PatientRecords: ...

    @property
    def persons(self) -> Persons: ...

    @property
    def prescriptions(self) -> Prescriptions: ...

    @property
    def confirmations(self) -> Confirmations: ...

    @property
    def certifications(self) -> Certifications: ...

    @property
    def tokens(self) -> Tokens: ...

    @property
    def audit_trails(self) -> AuditTrails: ...

    @property
    def contacts(self) -> Contacts: ...

    @property
    def relaxations(self) -> Relaxations: ...

    # the reminder sweep's queries, the outbox, the staff read models
    @property
    def due(self) -> DueQueries: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def views(self) -> ViewQueries: ...

    # the audit chain, reports, transfer, program records
    @property
    def audit(self) -> AuditLog: ...
    @property
    def reports(self) -> ReportQueries: ...
    @property
    def transfer(self) -> TransferStore: ...
    @property
    def program_records(self) -> ProgramRecords: ...

    # the gate's reads, the optimistic write path, safety retries
    @property
    def gate(self) -> GateReads: ...
    @property
    def optimistic(self) -> Optimistic: ...
    @property
    def attempts(self) -> Attempts: ...


class Savepoint(Protocol):
    def commit(self) -> None: ...
    def rollback(self) -> None: ...


class BatchRows(Protocol):
    """A bulk import's rows: each in a savepoint, one commit at the end."""

    def savepoint(self) -> Savepoint: ...
    def commit(self) -> None: ...


class Batch(UnitOfWork, Protocol):
    """The unit of work of a bulk CSV import (rems/services/transfer/csv_import.py): the use cases'
    commits only flush; `rows()` gives the savepoints and the one real commit."""

    def rows(self) -> BatchRows: ...
