"""Unit of work over SQLAlchemy: one session, one transaction, explicit commit (the store's side of
the services' ports)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from functools import cached_property
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import flag_modified
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
from rems.adapters.transfer import TransferStore
from rems.adapters.views import ViewQueries
from rems.domain import access, model
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

    def _all(self, cls: type[T], *where: Any, order: Any = None) -> Sequence[T]:
        query = select(cls).where(*where)
        if order is not None:
            query = query.order_by(order)
        return self.session.scalars(query).all()

    def ppafs(self, patient_id: str) -> Sequence[model.Ppaf]:
        t = orm.ppafs.c
        return self._all(model.Ppaf, t.patient_id == patient_id, order=t.signed_at)

    def tests(self, patient_id: str) -> Sequence[model.PregnancyTest]:
        t = orm.pregnancy_tests.c
        return self._all(model.PregnancyTest, t.patient_id == patient_id, order=t.collected_at)

    def patient_surveys(self, patient_id: str) -> Sequence[model.PatientSurvey]:
        t = orm.patient_surveys.c
        return self._all(model.PatientSurvey, t.patient_id == patient_id, order=t.completed_at)

    def dispenses(self, patient_id: str) -> Sequence[model.Dispense]:
        t = orm.dispenses.c
        return self._all(model.Dispense, t.patient_id == patient_id, order=t.dispensed_at)

    def prescriptions(self, *, patient_id: str | None = None, prescriber_id: str | None = None,
                      states: Sequence[str] | None = None, expired_before: datetime | None = None,
                      program_id: str | None = None) -> Sequence[model.Prescription]:
        t = orm.prescriptions.c
        where = [t.patient_id == patient_id] if patient_id else []
        where += [t.prescriber_id == prescriber_id] if prescriber_id else []
        where += [t.program_id == program_id] if program_id else []
        where += [t.state.in_(states)] if states else []
        where += [t.expires_at < expired_before] if expired_before else []
        return self._all(model.Prescription, *where, order=t.requested_at)

    def prescription_by_number(self, number: str, lock: bool = False) -> model.Prescription:
        """`lock`: as `lock_prescription`, its patient and person first."""
        if lock:
            return self.lock_prescription(number=number)
        query = select(model.Prescription).where(orm.prescriptions.c.number == number)
        found = self.session.scalars(query).first()
        if found is None:
            raise NotFound("authorization", number)
        return found

    def confirmation_by_number(self, number: str) -> model.Confirmation:
        t = orm.confirmations.c
        found = self.session.scalars(select(model.Confirmation).where(t.number == number)).first()
        if found is None:
            raise NotFound("confirmation", number)
        return found

    def confirmations(self, *, prescription_id: str | None = None, pharmacy_id: str | None = None,
                      expired_before: datetime | None = None) -> Sequence[model.Confirmation]:
        """Live (issued) confirmations matching every filter given."""
        t = orm.confirmations.c
        where = [t.state == "issued"]
        where += [t.prescription_id == prescription_id] if prescription_id else []
        where += [t.pharmacy_id == pharmacy_id] if pharmacy_id else []
        where += [t.expires_at < expired_before] if expired_before else []
        return self._all(model.Confirmation, *where, order=t.issued_at)

    def live_confirmation(self, prescription_id: str) -> model.Confirmation | None:
        live = self.confirmations(prescription_id=prescription_id)
        return live[0] if live else None

    def person_for(self, key: str, birth_date: date, sex: str, now: datetime) -> model.Person:
        """R34: the person with this identity, created (and flushed) if there is none yet."""
        t = orm.persons.c
        query = select(model.Person).where(t.name_key == key, t.birth_date == birth_date, t.sex == sex)
        person = self.session.scalars(query).first()
        if person is None:
            person = model.Person(id=f"per_{secrets.token_hex(6)}", name_key=key,
                                  birth_date=birth_date, sex=sex, created_at=now)
            self.session.add(person)
            self.flush()
        return person

    # -- R1, R3, R25: certification per program ----------------------------------------------
    def certification(self, kind: str, holder_id: str, program_id: str,
                      lock: bool = False) -> model.Certification | None:
        """The holder's certification in this program, or None (never certified in it)."""
        t = orm.certifications.c
        query = select(model.Certification).where(
            t.holder_kind == kind, t.holder_id == holder_id, t.program_id == program_id)
        if lock:
            query = query.with_for_update()
        return self.session.scalars(query).first()

    def certifications(self, kind: str, holder_ids: Sequence[str] | None = None,
                       program_id: str | None = None) -> Sequence[model.Certification]:
        """Certifications of `kind`, of these holders and/or in this program, by program then holder."""
        t = orm.certifications.c
        where = [t.holder_kind == kind]
        where += [t.holder_id.in_(holder_ids)] if holder_ids is not None else []
        where += [t.program_id == program_id] if program_id else []
        query = select(model.Certification).where(*where).order_by(t.program_id, t.holder_id)
        return self.session.scalars(query).all()

    def claim_person(self, person: model.Person) -> None:
        """R34: serialise what changes one person's enrollments: lock the row (PostgreSQL) and bump
        its version (the write lock on SQLite; a concurrent claim fails as a conflict), so what is
        read next includes every enrollment committed before."""
        self.session.refresh(person, with_for_update=True)
        flag_modified(person, "sex")
        self.flush()

    def person_identifier(self, system: str, value: str) -> model.PersonIdentifier | None:
        t = orm.person_identifiers.c
        query = select(model.PersonIdentifier).where(t.system == system, t.value == value)
        return self.session.scalars(query).first()

    def enrollments_of(self, person_id: str, program_id: str | None = None) -> Sequence[model.Patient]:
        """R34: every enrollment (patient record) of a person, in one program or in all."""
        t = orm.patients.c
        where = [t.person_id == person_id] + ([t.program_id == program_id] if program_id else [])
        return self._all(model.Patient, *where, order=t.enrolled_at)

    def _of_person(self, person_id: str, program_id: str | None = None) -> Any:
        t = orm.patients.c
        where = [t.person_id == person_id] + ([t.program_id == program_id] if program_id else [])
        return select(t.id).where(*where).scalar_subquery()

    def lab_results(self, patient_id: str) -> Sequence[model.LabResult]:
        """Issue 17 item 1: one enrollment's lab results, in collection order."""
        t = orm.lab_results.c
        return self._all(model.LabResult, t.patient_id == patient_id, order=t.collected_at)

    def person_lab_results(self, person_id: str) -> Sequence[model.LabResult]:
        """Issue 17 item 1, R34: the person's lab results in every enrollment and program."""
        t = orm.lab_results.c
        return self._all(model.LabResult, t.patient_id.in_(self._of_person(person_id)),
                         order=t.collected_at)

    def person_tests(self, person_id: str) -> Sequence[model.PregnancyTest]:
        """R34: the person's tests in every enrollment and program."""
        t = orm.pregnancy_tests.c
        return self._all(model.PregnancyTest, t.patient_id.in_(self._of_person(person_id)),
                         order=t.collected_at)

    def person_dispenses(self, person_id: str, program_id: str) -> Sequence[model.Dispense]:
        """R28, R34: the person's dispenses in every enrollment of this program."""
        t = orm.dispenses.c
        return self._all(model.Dispense, t.patient_id.in_(self._of_person(person_id, program_id)),
                         order=t.dispensed_at)

    def person_patient_surveys(self, person_id: str, program_id: str) -> Sequence[model.PatientSurvey]:
        t = orm.patient_surveys.c
        return self._all(model.PatientSurvey,
                         t.patient_id.in_(self._of_person(person_id, program_id)), order=t.completed_at)

    def person_pregnancy_reports(self, person_id: str) -> Sequence[model.PregnancyReport]:
        """R30, R34: the person's pregnancy reports in every enrollment and program."""
        t = orm.pregnancy_reports.c
        return self._all(model.PregnancyReport, t.patient_id.in_(self._of_person(person_id)),
                         order=t.reported_at)

    def readmitted_at(self, person_id: str, program_id: str) -> datetime | None:
        """R34: when the administrator last decided to admit the person to the program again."""
        t = orm.readmission_decisions.c
        found: datetime | None = self.session.scalar(
            select(func.max(t.decided_at)).where(t.person_id == person_id, t.program_id == program_id))
        if found is not None and found.tzinfo is None:  # SQLite's aggregate skips the column type
            found = found.replace(tzinfo=UTC)
        return found

    def already_enrolled(self, identifier: str, value: str) -> bool:
        """Is a prescriber (`npi`) or pharmacy (`ncpdp_id`) with this identifier enrolled?"""
        column = orm.prescribers.c.npi if identifier == "npi" else orm.pharmacies.c.ncpdp_id
        return self.session.execute(select(column).where(column == value)).first() is not None

    def prescriber_survey_done(self, prescription_id: str) -> bool:
        t = orm.prescriber_surveys.c
        return self.session.execute(select(t.id).where(t.prescription_id == prescription_id)).first() \
            is not None

    def patients_of(self, prescriber_id: str, limit: int, offset: int = 0) -> Sequence[model.Patient]:
        t = orm.patients.c
        query = select(model.Patient).where(t.prescriber_id == prescriber_id)
        return self.session.scalars(query.order_by(t.enrolled_at, t.id).limit(limit).offset(offset)).all()

    def patients_of_program(self, program_id: str, states: Sequence[str]) -> Sequence[model.Patient]:
        """Issue 17 item 6: every enrollment of a program in one of `states`, oldest first."""
        t = orm.patients.c
        query = select(model.Patient).where(t.program_id == program_id, t.state.in_(states))
        return self.session.scalars(query.order_by(t.enrolled_at, t.id)).all()

    def token_by_hash(self, digest: str) -> access.ApiToken | None:
        t = orm.api_tokens.c
        return self.session.scalars(select(access.ApiToken).where(t.token_hash == digest)).first()

    def audit_trail(self, entity: str, entity_id: str) -> Sequence[model.AuditEntry]:
        t = orm.audit_log.c
        return self._all(model.AuditEntry, t.entity == entity, t.entity_id == entity_id, order=t.id)

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

    # lane due: the reminder sweep's queries (rems/adapters/due.py), the outbox, the read models,
    # built on first use
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
    # end lane due

    # lane records: the audit chain, reports, transfer and program records (issue 19 item 1)
    def stage_audit(self, entry: model.AuditEntry) -> None:
        """Issue 6: the entry is written (and later chained) when this unit of work commits. (Lane
        uow's port method: with the chain's rows in rems/adapters/audit_chain.py, no stager needs
        to be given by the composition root.)"""
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
    # end lane records

    # lane gate: the gate's read model (rems/services/ports/gate.py). A plain property: the adapters
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
    # end lane gate
