"""Unit of work over SQLAlchemy: one session, one transaction, explicit commit (the store's side of
the services' ports)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from rems.adapters import orm
from rems.adapters.attempts import Attempts
from rems.adapters.audit_chain import AuditChain
from rems.adapters.audit_chain import stage as stage_audit_entry
from rems.adapters.database import lost_a_race, reading
from rems.adapters.due import DueQueries
from rems.adapters.gate_reads import GateReads
from rems.adapters.optimistic import Optimistic
from rems.adapters.outbox import Outbox
from rems.adapters.programs import ProgramRecords
from rems.adapters.reports import ReportQueries
from rems.adapters.repositories import (
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
from rems.adapters.transfer import TransferStore
from rems.adapters.views import ViewQueries
from rems.domain import model
from rems.domain.errors import Conflict, NotFound
from workflows.program import Program

T = TypeVar("T")


class UnitOfWork:
    """One transaction. A writing one (the default) serialises with every other writer from its
    start, on SQLite too (issue 13 item 8); `write=False` only reads and never waits for a writer."""

    def __init__(self, sessions: sessionmaker[Session], programs: Mapping[str, Program],
                 write: bool = True) -> None:
        self._sessions = sessions
        self.programs = programs
        self.write = write
        self._session: Session | None = None
        self._connection: Connection | None = None
        # Issue 14 item 3: the rows `lock_prescription` locked, held so the session's (weak) identity
        # map keeps them: a locked patient asked for again by key was selected a second time.
        self._locked: list[Any] = []

    def __enter__(self) -> UnitOfWork:
        self._session, self._connection, self._locked = None, None, []
        if self.write:
            self._session = self._sessions()
        return self

    @property
    def session(self) -> Session:
        """The ORM session; a read-only unit of work opens it only when asked (issue 14 item 2: a
        read in Core statements alone never pays for one), on the connection it already reads on."""
        if self._session is None:
            self._session = self._sessions(bind=self._connection or reading(self._sessions.kw["bind"]))
        return self._session

    def connection(self) -> Connection:
        """This unit of work's connection and transaction, for Core statements; pending ORM changes
        are flushed first (Core statements do not autoflush)."""
        if self._session is not None:
            self.flush()
            return self._session.connection()
        if self._connection is None:
            self._connection = reading(self._sessions.kw["bind"]).connect()
        return self._connection

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._session is not None:
            self._session.rollback()
            self._session.close()
        if self._connection is not None:
            self._connection.close()  # rolls the read transaction back
        # A deadlock, lock or serialization failure (PostgreSQL), a busy database (SQLite), or a
        # row locked after another transaction changed the copy this one had read.
        if lost_a_race(error) or isinstance(error, StaleDataError):
            raise Conflict("the record was changed by another request; retry") from error

    def commit(self) -> None:
        if not self.write:
            raise RuntimeError("a read-only unit of work cannot commit: open it with write=True")
        try:
            self.session.commit()
        except (StaleDataError, IntegrityError) as exc:
            # STYLE 6: a concurrent actor changed the same record first; nothing is written.
            self.session.rollback()
            raise Conflict("the record was changed by another request; retry") from exc

    def rollback(self) -> None:
        """Forget what this transaction wrote (the unit of work stays usable)."""
        self.session.rollback()

    def flush(self) -> None:
        try:
            self.session.flush()
        except (StaleDataError, IntegrityError) as exc:
            self.session.rollback()
            raise Conflict("the record was changed by another request; retry") from exc

    def program(self, program_id: str) -> Program:
        try:
            return self.programs[program_id]
        except KeyError:
            raise NotFound("program", program_id) from None

    def add(self, entity: Any) -> None:
        self.session.add(entity)

    def get(self, cls: type[T], key: str, lock: bool = False) -> T:
        entity = self.session.get(cls, key, with_for_update=lock or None) if key else None
        if entity is None:
            raise NotFound(cls.__name__.lower(), key)
        return entity

    def snapshot(self) -> UnitOfWork | None:
        """Issue 14 item 3: on SQLite, a read-only unit of work beside this writing one that has not
        begun yet, to decide before taking the database's one write lock (rems/services/dispensing/optimistic.py);
        None otherwise (PostgreSQL's row locks never stop readers)."""
        bind = self._sessions.kw["bind"]
        if not self.write or bind.dialect.name != "sqlite" or (
                self._session is not None and self._session.in_transaction()):
            return None
        return UnitOfWork(self._sessions, self.programs, write=False)

    # -- issue 6 ------------------------------------------------------------------------------
    def sibling(self) -> UnitOfWork:
        """A separate unit of work on the same database, committing on its own (e.g. to record a
        refusal after this one rolled back)."""
        return UnitOfWork(self._sessions, self.programs)

    # -- issue 13: one lock order for everything that decides a dispense ---------------------
    def lock_person(self, person_id: str | None) -> None:
        """R28, R34: the person's row, so that enrollments of one person serialise."""
        if person_id is not None:
            self.session.get(model.Person, person_id, with_for_update=True)

    def lock_patient(self, patient: model.Patient) -> None:
        """R30, R34: a patient already read, read again under its row lock."""
        self.session.refresh(patient, with_for_update=True)

    def lock_prescription(self, prescription_id: str | None = None, *,
                          number: str | None = None) -> model.Prescription:
        """A prescription locked for a confirmation or a dispense, after its patient and person.

        The safety actions lock the patient before they void its prescriptions, so this order
        (patient, person, prescription) cannot deadlock with them; and dispenses of two
        prescriptions of one patient, or of two enrollments of one person, serialise (R28, R30)."""
        t = orm.prescriptions.c
        which = t.id == prescription_id if prescription_id else t.number == number
        patient_id = self.session.execute(select(t.patient_id).where(which)).scalar()
        if patient_id is None:
            raise NotFound("authorization" if number else "prescription", number or prescription_id or "")
        patient = self.get(model.Patient, patient_id, lock=True)
        self._locked.append(patient)
        self.lock_person(patient.person_id)
        return self.session.scalars(select(model.Prescription).where(which).with_for_update()).one()

    # -- issue 19 item 1: the repositories (rems/adapters/repositories.py), built when first asked --
    @cached_property
    def patients(self) -> PatientRecords:
        return PatientRecords(self)

    @cached_property
    def persons(self) -> Persons:
        return Persons(self)

    @cached_property
    def prescriptions(self) -> Prescriptions:
        return Prescriptions(self)

    @cached_property
    def confirmations(self) -> Confirmations:
        return Confirmations(self)

    @cached_property
    def certifications(self) -> Certifications:
        return Certifications(self)

    @cached_property
    def tokens(self) -> Tokens:
        return Tokens(self)

    @cached_property
    def audit_trails(self) -> AuditTrails:
        return AuditTrails(self)

    @cached_property
    def contacts(self) -> Contacts:
        return Contacts(self)

    @cached_property
    def relaxations(self) -> Relaxations:
        return Relaxations(self)

    # The query adapters (issue 19 item 1), built on first use: the reminder sweep's queries
    # (rems/adapters/due.py), the outbox, the read models
    @cached_property
    def due(self) -> DueQueries:
        return DueQueries(self)

    @cached_property
    def outbox(self) -> Outbox:
        """The outbox (rems/adapters/outbox.py): reminders, claims, the closing-the-loop rows."""
        return Outbox(self)

    @cached_property
    def views(self) -> ViewQueries:
        """The staff's and the dashboard's read models (rems/adapters/views.py)."""
        return ViewQueries(self)

    # the audit chain, reports, transfer and program records
    def stage_audit(self, entry: model.AuditEntry) -> None:
        """Issue 6: the entry is written (and later chained) when this unit of work commits
        (rems/adapters/audit_chain.py)."""
        stage_audit_entry(self.session, entry)

    @cached_property
    def audit(self) -> AuditChain:
        return AuditChain(self)

    @cached_property
    def reports(self) -> ReportQueries:
        return ReportQueries(self)

    @cached_property
    def transfer(self) -> TransferStore:
        return TransferStore(self)

    @cached_property
    def program_records(self) -> ProgramRecords:
        return ProgramRecords(self)

    # The gate's read model (rems/services/ports/gate.py). A plain property: the adapters
    # hold nothing but this unit of work, and building one (0.3 µs) is cheaper than 3.11's
    # cached_property (its lock) on the check's path, which asks once per unit of work.
    @property
    def gate(self) -> GateReads:
        return GateReads(self)

    @property
    def optimistic(self) -> Optimistic:
        return Optimistic(self)

    @property
    def attempts(self) -> Attempts:
        return Attempts(self)
