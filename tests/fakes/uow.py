"""An in-memory unit of work implementing rems.services.ports.UnitOfWork (issue 19 item 1).

The domain model's objects are kept in dicts by class and id (`FakeStore`), shared by every unit
of work over the store. Commit and rollback, enough for the services: what a unit of work added
since its last commit is forgotten by a rollback (or by leaving its `with` block without a commit),
and the records it read are put back as they were when it first read them; its staged audit
entries are dropped. Locks are no-ops (one thread); `snapshot()` is None (as on PostgreSQL: the
services decide under the lock) and `flush()` does nothing (no constraint to check).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import Any, TypeVar

from rems.adapters.uow import UnitOfWork as SqlUnitOfWork
from rems.domain import access, model
from rems.domain.errors import NotFound
from rems.domain.gate import Records
from rems.domain.lifecycle import ProgramStatusChange, RelaxationActivation, WaiverUse
from rems.services.ports import UnitOfWork
from rems.services.ports.audit import AuditLog
from rems.services.ports.due import DueQueries
from rems.services.ports.gate import Attempts, GateReads, Optimistic
from rems.services.ports.outbox import Outbox
from rems.services.ports.programs import ProgramRecords
from rems.services.ports.reports import ReportQueries
from rems.services.ports.transfer import TransferStore
from rems.services.ports.views import ViewQueries
from workflows.program import Program

T = TypeVar("T")


class FakeStore:
    """What has been committed: records by class and id, the audit log, contact details."""

    def __init__(self, programs: Mapping[str, Program]) -> None:
        self.programs = programs
        self.rows: dict[type, dict[Any, Any]] = defaultdict(dict)
        self.audit: list[model.AuditEntry] = []
        self.contacts: dict[tuple[str, str], dict[str, Any]] = {}

    def all(self, cls: type[T]) -> list[T]:
        return list(self.rows[cls].values())

    def uow(self, write: bool = True) -> FakeUnitOfWork:
        return FakeUnitOfWork(self, write)


def _key(entity: Any) -> Any:
    return getattr(entity, "id", None) or id(entity)


class FakeUnitOfWork:
    def __init__(self, store: FakeStore, write: bool = True) -> None:
        self.store = store
        self.write = write
        self._undo: list[Callable[[], None]] = []
        self._before: dict[int, tuple[Any, dict[str, Any]]] = {}
        self._audit: list[model.AuditEntry] = []
        self.commits = 0
        self.patients = FakePatientRecords(self)
        self.persons = FakePersons(self)
        self.prescriptions = FakePrescriptions(self)
        self.confirmations = FakeConfirmations(self)
        self.certifications = FakeCertifications(self)
        self.tokens = FakeTokens(self)
        self.audit_trails = FakeAuditTrails(self)
        self.contacts = FakeContacts(self)
        self.relaxations = FakeRelaxations(self)
        self._attempts = FakeAttempts(self)

    @property
    def programs(self) -> Mapping[str, Program]:
        return self.store.programs

    # -- the transaction ----------------------------------------------------------------------
    def __enter__(self) -> FakeUnitOfWork:
        self._forget()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.rollback()

    def _forget(self) -> None:
        self._undo, self._before, self._audit = [], {}, []

    def commit(self) -> None:
        if not self.write:
            raise RuntimeError("a read-only unit of work cannot commit: open it with write=True")
        for entry in self._audit:
            entry.id = len(self.store.audit) + 1
            self.store.audit.append(entry)
        self._forget()
        self.commits += 1

    def rollback(self) -> None:
        for undo in reversed(self._undo):
            undo()
        for entity, before in self._before.values():
            entity.__dict__.clear()
            entity.__dict__.update(before)
        self._forget()

    def flush(self) -> None:
        pass

    def add(self, entity: Any) -> None:
        table, key = self.store.rows[type(entity)], _key(entity)
        table[key] = entity
        self._undo.append(lambda: table.pop(key, None))

    def seen(self, entity: T) -> T:
        """Keep how `entity` was when first read in this transaction, for a rollback."""
        if id(entity) not in self._before:
            self._before[id(entity)] = (entity, dict(entity.__dict__))
        return entity

    def find(self, cls: type[T], where: Callable[[T], bool] = lambda _: True,
             order: Callable[[T], Any] | None = None) -> list[T]:
        found = [self.seen(e) for e in self.store.rows[cls].values() if where(e)]
        return sorted(found, key=order) if order is not None else found

    def get(self, cls: type[T], key: str, lock: bool = False) -> T:
        entity: T | None = self.store.rows[cls].get(key) if key else None
        if entity is None:
            raise NotFound(cls.__name__.lower(), key)
        return self.seen(entity)

    def program(self, program_id: str) -> Program:
        try:
            return self.store.programs[program_id]
        except KeyError:
            raise NotFound("program", program_id) from None

    def stage_audit(self, entry: model.AuditEntry) -> None:
        self._audit.append(entry)

    def snapshot(self) -> FakeUnitOfWork | None:
        return None

    def sibling(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.store)

    # the gate's read model and the retry's attempts in memory; the optimistic path is not (the
    # fake decides under its no-op locks, as PostgreSQL does: `snapshot()` is None)
    @property
    def gate(self) -> GateReads:
        return FakeGateReads(self)

    @property
    def optimistic(self) -> Optimistic:
        raise NotImplementedError("no in-memory optimistic reads")

    @property
    def attempts(self) -> Attempts:
        return self._attempts

    # the reminder sweep's queries, the outbox, the staff read models (none in memory yet:
    # the tests on the fake do not reach them; tests/fakes/unported.py stands in for the loop's routes)
    @property
    def due(self) -> DueQueries:
        raise NotImplementedError("no in-memory due-date queries")

    @property
    def outbox(self) -> Outbox:
        raise NotImplementedError("no in-memory outbox")

    @property
    def views(self) -> ViewQueries:
        raise NotImplementedError("no in-memory staff read models")

    # the audit log's staged entries and the program records in memory; the stored chain, reports
    # and transfer are not
    @property
    def audit(self) -> AuditLog:
        return FakeAuditLog(self)

    @property
    def reports(self) -> ReportQueries:
        raise NotImplementedError("no in-memory report queries")

    @property
    def transfer(self) -> TransferStore:
        raise NotImplementedError("no in-memory transfer store")

    @property
    def program_records(self) -> ProgramRecords:
        return FakeProgramRecords(self)

    def lock_person(self, person_id: str | None) -> None:
        if person_id is not None:
            self.get(model.Person, person_id)

    def lock_patient(self, patient: model.Patient) -> None:
        self.seen(patient)

    def lock_prescription(self, prescription_id: str | None = None, *,
                          number: str | None = None) -> model.Prescription:
        found = self.find(model.Prescription, lambda rx: rx.id == prescription_id if prescription_id
                          else rx.number == number)
        if not found:
            raise NotFound("authorization" if number else "prescription", number or prescription_id or "")
        patient = self.get(model.Patient, found[0].patient_id)
        self.lock_person(patient.person_id)
        return found[0]


class _Fake:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow


def _of(patient_ids: Iterable[str]) -> Callable[[Any], bool]:
    ids = set(patient_ids)
    return lambda record: record.patient_id in ids


class FakePatientRecords(_Fake):
    def ppafs(self, patient_id: str) -> Sequence[model.Ppaf]:
        return self.uow.find(model.Ppaf, _of([patient_id]), lambda p: p.signed_at)

    def tests(self, patient_id: str) -> Sequence[model.PregnancyTest]:
        return self.uow.find(model.PregnancyTest, _of([patient_id]), lambda t: t.collected_at)

    def surveys(self, patient_id: str) -> Sequence[model.PatientSurvey]:
        return self.uow.find(model.PatientSurvey, _of([patient_id]), lambda s: s.completed_at)

    def dispenses(self, patient_id: str) -> Sequence[model.Dispense]:
        return self.uow.find(model.Dispense, _of([patient_id]), lambda d: d.dispensed_at)

    def lab_results(self, patient_id: str) -> Sequence[model.LabResult]:
        return self.uow.find(model.LabResult, _of([patient_id]), lambda r: r.collected_at)

    def of_prescriber(self, prescriber_id: str, limit: int, offset: int = 0) -> Sequence[model.Patient]:
        mine = self.uow.find(model.Patient, lambda p: p.prescriber_id == prescriber_id,
                             lambda p: (p.enrolled_at, p.id))
        return mine[offset:offset + limit]

    def in_program(self, program_id: str, states: Sequence[str]) -> Sequence[model.Patient]:
        return self.uow.find(model.Patient, lambda p: p.program_id == program_id and p.state in states,
                             lambda p: (p.enrolled_at, p.id))


class FakePersons(_Fake):
    def for_identity(self, key: str, birth_date: date, sex: str, now: datetime) -> model.Person:
        found = self.uow.find(model.Person, lambda p: (p.name_key, p.birth_date, p.sex) == (key, birth_date, sex))
        if found:
            return found[0]
        person = model.Person(id=f"per_{len(self.uow.store.rows[model.Person]) + 1:012d}", name_key=key,
                              birth_date=birth_date, sex=sex, created_at=now)
        self.uow.add(person)
        return person

    def claim(self, person: model.Person) -> None:
        self.uow.seen(person)

    def identifier(self, system: str, value: str) -> model.PersonIdentifier | None:
        found = self.uow.find(model.PersonIdentifier, lambda i: (i.system, i.value) == (system, value))
        return found[0] if found else None

    def enrollments(self, person_id: str, program_id: str | None = None) -> Sequence[model.Patient]:
        return self.uow.find(model.Patient, lambda p: p.person_id == person_id
                             and (not program_id or p.program_id == program_id), lambda p: p.enrolled_at)

    def _ids(self, person_id: str, program_id: str | None = None) -> list[str]:
        return [p.id for p in self.enrollments(person_id, program_id)]

    def lab_results(self, person_id: str) -> Sequence[model.LabResult]:
        return self.uow.find(model.LabResult, _of(self._ids(person_id)), lambda r: r.collected_at)

    def tests(self, person_id: str) -> Sequence[model.PregnancyTest]:
        return self.uow.find(model.PregnancyTest, _of(self._ids(person_id)), lambda t: t.collected_at)

    def dispenses(self, person_id: str, program_id: str) -> Sequence[model.Dispense]:
        return self.uow.find(model.Dispense, _of(self._ids(person_id, program_id)), lambda d: d.dispensed_at)

    def surveys(self, person_id: str, program_id: str) -> Sequence[model.PatientSurvey]:
        return self.uow.find(model.PatientSurvey, _of(self._ids(person_id, program_id)),
                             lambda s: s.completed_at)

    def pregnancy_reports(self, person_id: str) -> Sequence[model.PregnancyReport]:
        return self.uow.find(model.PregnancyReport, _of(self._ids(person_id)), lambda r: r.reported_at)

    def readmitted_at(self, person_id: str, program_id: str) -> datetime | None:
        decided = [d.decided_at for d in self.uow.find(
            model.ReadmissionDecision, lambda d: (d.person_id, d.program_id) == (person_id, program_id))]
        return max(decided) if decided else None


class FakePrescriptions(_Fake):
    def matching(self, *, patient_id: str | None = None, prescriber_id: str | None = None,
                 states: Sequence[str] | None = None, expired_before: datetime | None = None,
                 program_id: str | None = None) -> Sequence[model.Prescription]:
        def where(rx: model.Prescription) -> bool:
            return ((not patient_id or rx.patient_id == patient_id)
                    and (not prescriber_id or rx.prescriber_id == prescriber_id)
                    and (not program_id or rx.program_id == program_id)
                    and (not states or rx.state in states)
                    and (not expired_before or (rx.expires_at is not None and rx.expires_at < expired_before)))
        return self.uow.find(model.Prescription, where, lambda rx: rx.requested_at)

    def by_number(self, number: str, lock: bool = False) -> model.Prescription:
        if lock:
            return self.uow.lock_prescription(number=number)
        found = self.uow.find(model.Prescription, lambda rx: rx.number == number)
        if not found:
            raise NotFound("authorization", number)
        return found[0]

    def survey_done(self, prescription_id: str) -> bool:
        return bool(self.uow.find(model.PrescriberSurvey, lambda s: s.prescription_id == prescription_id))


class FakeConfirmations(_Fake):
    def by_number(self, number: str) -> model.Confirmation:
        found = self.uow.find(model.Confirmation, lambda c: c.number == number)
        if not found:
            raise NotFound("confirmation", number)
        return found[0]

    def issued(self, *, prescription_id: str | None = None, pharmacy_id: str | None = None,
               expired_before: datetime | None = None) -> Sequence[model.Confirmation]:
        return self.uow.find(model.Confirmation, lambda c: c.state == "issued"
                             and (not prescription_id or c.prescription_id == prescription_id)
                             and (not pharmacy_id or c.pharmacy_id == pharmacy_id)
                             and (not expired_before or c.expires_at < expired_before), lambda c: c.issued_at)

    def live(self, prescription_id: str) -> model.Confirmation | None:
        live = self.issued(prescription_id=prescription_id)
        return live[0] if live else None


class FakeCertifications(_Fake):
    def of(self, kind: str, holder_id: str, program_id: str,
           lock: bool = False) -> model.Certification | None:
        found = self.uow.find(model.Certification, lambda c: (c.holder_kind, c.holder_id, c.program_id)
                              == (kind, holder_id, program_id))
        return found[0] if found else None

    def matching(self, kind: str, holder_ids: Sequence[str] | None = None,
                 program_id: str | None = None) -> Sequence[model.Certification]:
        return self.uow.find(model.Certification, lambda c: c.holder_kind == kind
                             and (holder_ids is None or c.holder_id in holder_ids)
                             and (not program_id or c.program_id == program_id),
                             lambda c: (c.program_id, c.holder_id))

    def already_enrolled(self, identifier: str, value: str) -> bool:
        if identifier == "npi":
            return any(p.npi == value for p in self.uow.store.all(model.Prescriber))
        return any(p.ncpdp_id == value for p in self.uow.store.all(model.Pharmacy))


class FakeTokens(_Fake):
    def by_hash(self, digest: str) -> access.ApiToken | None:
        found = self.uow.find(access.ApiToken, lambda t: t.token_hash == digest)
        return found[0] if found else None


class FakeAuditTrails(_Fake):
    def of(self, entity: str, entity_id: str) -> Sequence[model.AuditEntry]:
        """Committed entries only, as the SQL log holds (chained after the commit)."""
        return [e for e in self.uow.store.audit if (e.entity, e.entity_id) == (entity, entity_id)]


class FakeContacts(_Fake):
    def add(self, kind: str, holder_id: str, values: dict[str, Any], at: datetime) -> None:
        contacts, key = self.uow.store.contacts, (kind, holder_id)
        contacts[key] = dict(values)

        def undo() -> None:
            contacts.pop(key, None)
        self.uow._undo.append(undo)

    def of(self, kind: str, holder_id: str) -> dict[str, Any] | None:
        return self.uow.store.contacts.get((kind, holder_id))


class FakeRelaxations(_Fake):
    def activations(self, program_id: str) -> Sequence[RelaxationActivation]:
        return self.uow.find(RelaxationActivation, lambda a: a.program_id == program_id,
                             lambda a: (a.activated_at, a.id))


class FakeGateReads(_Fake):
    """The gate's records composed from the repositories, with R34's scopes: the person's tests,
    pregnancy reports and lab results from every enrollment, dispenses and surveys from this
    program's enrollments (what rems/adapters/gate_reads.py reads in two statements)."""

    def records(self, prescriber_id: str, patient: model.Patient, prescription: model.Prescription | None,
                pharmacy: model.Pharmacy | None, confirmation: model.Confirmation | None,
                counselling: model.Counselling | None) -> Records | None:
        prescriber = self.uow.store.rows[model.Prescriber].get(prescriber_id)
        if prescriber is None:
            return None
        uow, person, program = self.uow, patient.person_id, patient.program_id
        if person:
            history: dict[str, Any] = {
                "tests": uow.persons.tests(person), "patient_surveys": uow.persons.surveys(person, program),
                "dispenses": uow.persons.dispenses(person, program),
                "lab_results": uow.persons.lab_results(person),
                "pregnancy_reports": uow.persons.pregnancy_reports(person),
                "readmitted_at": uow.persons.readmitted_at(person, program)}
        else:
            history = {"tests": uow.patients.tests(patient.id), "patient_surveys": uow.patients.surveys(patient.id),
                       "dispenses": uow.patients.dispenses(patient.id),
                       "lab_results": uow.patients.lab_results(patient.id)}
        return Records(
            patient=patient, prescriber=uow.seen(prescriber), prescription=prescription,
            ppafs=uow.patients.ppafs(patient.id),
            prescriber_survey_done=prescription is not None and uow.prescriptions.survey_done(prescription.id),
            pharmacy=pharmacy, confirmation=confirmation, counselling=counselling,
            prescriber_certification=uow.certifications.of("prescriber", prescriber_id, program),
            pharmacy_certification=uow.certifications.of("pharmacy", pharmacy.id, program) if pharmacy else None,
            **history)

    def check(self, number: str, pharmacy_id: str) -> FakeCheckHead | None:
        found = self.uow.find(model.Prescription, lambda rx: rx.number == number)
        if not found:
            return None
        pharmacy = self.uow.store.rows[model.Pharmacy].get(pharmacy_id)
        return FakeCheckHead(self, found[0], self.uow.get(model.Patient, found[0].patient_id),
                             self.uow.seen(pharmacy) if pharmacy is not None else None)


@dataclass(frozen=True)
class FakeCheckHead:
    reads: FakeGateReads
    prescription: model.Prescription
    patient: model.Patient
    pharmacy: model.Pharmacy | None

    def records(self) -> Records:
        records = self.reads.records(self.prescription.prescriber_id, self.patient, self.prescription,
                                     self.pharmacy, None, None)
        if records is None:
            raise NotFound("prescriber", self.prescription.prescriber_id)
        return records


class FakeAttempts(_Fake):
    """The retry's side of the store (rems/adapters/attempts.py): one thread never loses a race."""

    running_now = False

    def lost_race(self, error: BaseException) -> bool:
        return False

    def running(self) -> bool:
        return self.running_now

    def start(self) -> None:
        self.running_now = True

    def stop(self) -> None:
        self.running_now = False

    def pending(self) -> bool:
        return bool(self.uow._undo or self.uow._before)

    def rollback(self) -> None:
        self.uow.rollback()


class FakeAuditLog(_Fake):
    """The entries this unit of work staged; the stored chain (hashes, head, walk) is not in memory."""

    def pending(self) -> list[model.AuditEntry]:
        return list(self.uow._audit)

    def discard_pending(self) -> None:
        self.uow._audit.clear()

    def seal_committed(self) -> None:
        raise NotImplementedError("no in-memory audit chain")

    def head(self) -> tuple[int, str] | None:
        raise NotImplementedError("no in-memory audit chain")

    def walk(self) -> AbstractContextManager[Iterable[Mapping[Any, Any]]]:
        raise NotImplementedError("no in-memory audit chain")

    def in_order(self) -> Iterable[Mapping[Any, Any]]:
        raise NotImplementedError("no in-memory audit chain")


class FakeProgramRecords(_Fake):
    def status_changes(self, program_id: str) -> list[ProgramStatusChange]:
        return self.uow.find(ProgramStatusChange, lambda c: c.program_id == program_id, lambda c: c.recorded_at)

    def waiver_uses(self, program_id: str, waiver: str | None, limit: int) -> Sequence[WaiverUse]:
        uses = self.uow.find(WaiverUse, lambda u: u.program_id == program_id and waiver in (None, u.waiver),
                             lambda u: (u.at, u.id))
        return uses[:limit]

    def waiver_uses_page(self, program_id: str, waiver: str | None, page: int,
                         size: int) -> tuple[int, Sequence[WaiverUse], Sequence[str]]:
        uses = self.waiver_uses(program_id, waiver, 10**9)
        names = sorted({u.waiver for u in self.uow.find(WaiverUse, lambda u: u.program_id == program_id)})
        newest = uses[::-1]
        return len(uses), newest[(page - 1) * size:page * size], names


def checked(store: FakeStore) -> UnitOfWork:
    """The fake as the port (mypy checks that it implements rems.services.ports.UnitOfWork)."""
    return FakeUnitOfWork(store)


def sql_checked(uow: SqlUnitOfWork) -> UnitOfWork:
    """The SQL unit of work as the port (mypy checks rems/adapters/uow.py against it too)."""
    return uow
