"""Repositories per aggregate over the SQL unit of work (issue 19 item 1): what was the unit of
work's finders, moved here as they were (same statements, same order). The unit of work builds each
once, when first asked (`uow.patients`, `uow.prescriptions` …); each reads and writes through the
unit of work's session, so it sees what the transaction has flushed. rems/services/ports/ declares
what the services may call (the Protocols these classes implement)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm.attributes import flag_modified

from rems.adapters import contact_store, orm
from rems.domain import access, model
from rems.domain.errors import NotFound
from rems.domain.lifecycle import RelaxationActivation

if TYPE_CHECKING:
    from rems.adapters.uow import UnitOfWork

T = TypeVar("T")


class _Repository:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def _all(self, cls: type[T], *where: Any, order: Any = None) -> Sequence[T]:
        query = select(cls).where(*where)
        if order is not None:
            query = query.order_by(order)
        return self.uow.session.scalars(query).all()


class PatientRecords(_Repository):
    """One enrollment (patient record) and what it holds: PPAFs, tests, surveys, dispenses, labs."""

    def ppafs(self, patient_id: str) -> Sequence[model.Ppaf]:
        t = orm.ppafs.c
        return self._all(model.Ppaf, t.patient_id == patient_id, order=t.signed_at)

    def tests(self, patient_id: str) -> Sequence[model.PregnancyTest]:
        t = orm.pregnancy_tests.c
        return self._all(model.PregnancyTest, t.patient_id == patient_id, order=t.collected_at)

    def surveys(self, patient_id: str) -> Sequence[model.PatientSurvey]:
        t = orm.patient_surveys.c
        return self._all(model.PatientSurvey, t.patient_id == patient_id, order=t.completed_at)

    def dispenses(self, patient_id: str) -> Sequence[model.Dispense]:
        t = orm.dispenses.c
        return self._all(model.Dispense, t.patient_id == patient_id, order=t.dispensed_at)

    def lab_results(self, patient_id: str) -> Sequence[model.LabResult]:
        """Issue 17 item 1: one enrollment's lab results, in collection order."""
        t = orm.lab_results.c
        return self._all(model.LabResult, t.patient_id == patient_id, order=t.collected_at)

    def of_prescriber(self, prescriber_id: str, limit: int, offset: int = 0) -> Sequence[model.Patient]:
        t = orm.patients.c
        query = select(model.Patient).where(t.prescriber_id == prescriber_id)
        return self.uow.session.scalars(query.order_by(t.enrolled_at, t.id).limit(limit).offset(offset)).all()

    def in_program(self, program_id: str, states: Sequence[str]) -> Sequence[model.Patient]:
        """Issue 17 item 6: every enrollment of a program in one of `states`, oldest first."""
        t = orm.patients.c
        query = select(model.Patient).where(t.program_id == program_id, t.state.in_(states))
        return self.uow.session.scalars(query.order_by(t.enrolled_at, t.id)).all()


class Persons(_Repository):
    """R34: the person behind enrollments, and what counts across all of them."""

    def for_identity(self, key: str, birth_date: date, sex: str, now: datetime) -> model.Person:
        """R34: the person with this identity, created (and flushed) if there is none yet."""
        t = orm.persons.c
        query = select(model.Person).where(t.name_key == key, t.birth_date == birth_date, t.sex == sex)
        person = self.uow.session.scalars(query).first()
        if person is None:
            person = model.Person(id=f"per_{secrets.token_hex(6)}", name_key=key,
                                  birth_date=birth_date, sex=sex, created_at=now)
            self.uow.session.add(person)
            self.uow.flush()
        return person

    def claim(self, person: model.Person) -> None:
        """R34: serialise what changes one person's enrollments: lock the row (PostgreSQL) and bump
        its version (the write lock on SQLite; a concurrent claim fails as a conflict), so what is
        read next includes every enrollment committed before."""
        self.uow.session.refresh(person, with_for_update=True)
        flag_modified(person, "sex")
        self.uow.flush()

    def identifier(self, system: str, value: str) -> model.PersonIdentifier | None:
        t = orm.person_identifiers.c
        query = select(model.PersonIdentifier).where(t.system == system, t.value == value)
        return self.uow.session.scalars(query).first()

    def enrollments(self, person_id: str, program_id: str | None = None) -> Sequence[model.Patient]:
        """R34: every enrollment (patient record) of a person, in one program or in all."""
        t = orm.patients.c
        where = [t.person_id == person_id] + ([t.program_id == program_id] if program_id else [])
        return self._all(model.Patient, *where, order=t.enrolled_at)

    def _of_person(self, person_id: str, program_id: str | None = None) -> Any:
        t = orm.patients.c
        where = [t.person_id == person_id] + ([t.program_id == program_id] if program_id else [])
        return select(t.id).where(*where).scalar_subquery()

    def lab_results(self, person_id: str) -> Sequence[model.LabResult]:
        """Issue 17 item 1, R34: the person's lab results in every enrollment and program."""
        t = orm.lab_results.c
        return self._all(model.LabResult, t.patient_id.in_(self._of_person(person_id)),
                         order=t.collected_at)

    def tests(self, person_id: str) -> Sequence[model.PregnancyTest]:
        """R34: the person's tests in every enrollment and program."""
        t = orm.pregnancy_tests.c
        return self._all(model.PregnancyTest, t.patient_id.in_(self._of_person(person_id)),
                         order=t.collected_at)

    def dispenses(self, person_id: str, program_id: str) -> Sequence[model.Dispense]:
        """R28, R34: the person's dispenses in every enrollment of this program."""
        t = orm.dispenses.c
        return self._all(model.Dispense, t.patient_id.in_(self._of_person(person_id, program_id)),
                         order=t.dispensed_at)

    def surveys(self, person_id: str, program_id: str) -> Sequence[model.PatientSurvey]:
        t = orm.patient_surveys.c
        return self._all(model.PatientSurvey,
                         t.patient_id.in_(self._of_person(person_id, program_id)), order=t.completed_at)

    def pregnancy_reports(self, person_id: str) -> Sequence[model.PregnancyReport]:
        """R30, R34: the person's pregnancy reports in every enrollment and program."""
        t = orm.pregnancy_reports.c
        return self._all(model.PregnancyReport, t.patient_id.in_(self._of_person(person_id)),
                         order=t.reported_at)

    def readmitted_at(self, person_id: str, program_id: str) -> datetime | None:
        """R34: when the administrator last decided to admit the person to the program again."""
        t = orm.readmission_decisions.c
        found: datetime | None = self.uow.session.scalar(
            select(func.max(t.decided_at)).where(t.person_id == person_id, t.program_id == program_id))
        if found is not None and found.tzinfo is None:  # SQLite's aggregate skips the column type
            found = found.replace(tzinfo=UTC)
        return found


class Prescriptions(_Repository):
    """R19-R24: prescriptions (authorizations once numbered) and the prescriber's survey."""

    def matching(self, *, patient_id: str | None = None, prescriber_id: str | None = None,
                 states: Sequence[str] | None = None, expired_before: datetime | None = None,
                 program_id: str | None = None) -> Sequence[model.Prescription]:
        t = orm.prescriptions.c
        where = [t.patient_id == patient_id] if patient_id else []
        where += [t.prescriber_id == prescriber_id] if prescriber_id else []
        where += [t.program_id == program_id] if program_id else []
        where += [t.state.in_(states)] if states else []
        where += [t.expires_at < expired_before] if expired_before else []
        return self._all(model.Prescription, *where, order=t.requested_at)

    def by_number(self, number: str, lock: bool = False) -> model.Prescription:
        """`lock`: as `lock_prescription`, its patient and person first."""
        if lock:
            return self.uow.lock_prescription(number=number)
        query = select(model.Prescription).where(orm.prescriptions.c.number == number)
        found = self.uow.session.scalars(query).first()
        if found is None:
            raise NotFound("authorization", number)
        return found

    def survey_done(self, prescription_id: str) -> bool:
        t = orm.prescriber_surveys.c
        return self.uow.session.execute(select(t.id).where(t.prescription_id == prescription_id)).first() \
            is not None


class Confirmations(_Repository):
    """R26, R27: confirmation numbers."""

    def by_number(self, number: str) -> model.Confirmation:
        t = orm.confirmations.c
        found = self.uow.session.scalars(select(model.Confirmation).where(t.number == number)).first()
        if found is None:
            raise NotFound("confirmation", number)
        return found

    def issued(self, *, prescription_id: str | None = None, pharmacy_id: str | None = None,
               expired_before: datetime | None = None) -> Sequence[model.Confirmation]:
        """Live (issued) confirmations matching every filter given."""
        t = orm.confirmations.c
        where = [t.state == "issued"]
        where += [t.prescription_id == prescription_id] if prescription_id else []
        where += [t.pharmacy_id == pharmacy_id] if pharmacy_id else []
        where += [t.expires_at < expired_before] if expired_before else []
        return self._all(model.Confirmation, *where, order=t.issued_at)

    def live(self, prescription_id: str) -> model.Confirmation | None:
        live = self.issued(prescription_id=prescription_id)
        return live[0] if live else None


class Certifications(_Repository):
    """R1, R3, R25: certification per program, of prescribers and pharmacies."""

    def of(self, kind: str, holder_id: str, program_id: str,
           lock: bool = False) -> model.Certification | None:
        """The holder's certification in this program, or None (never certified in it)."""
        t = orm.certifications.c
        query = select(model.Certification).where(
            t.holder_kind == kind, t.holder_id == holder_id, t.program_id == program_id)
        if lock:
            query = query.with_for_update()
        return self.uow.session.scalars(query).first()

    def matching(self, kind: str, holder_ids: Sequence[str] | None = None,
                 program_id: str | None = None) -> Sequence[model.Certification]:
        """Certifications of `kind`, of these holders and/or in this program, by program then holder."""
        t = orm.certifications.c
        where = [t.holder_kind == kind]
        where += [t.holder_id.in_(holder_ids)] if holder_ids is not None else []
        where += [t.program_id == program_id] if program_id else []
        query = select(model.Certification).where(*where).order_by(t.program_id, t.holder_id)
        return self.uow.session.scalars(query).all()

    def already_enrolled(self, identifier: str, value: str) -> bool:
        """Is a prescriber (`npi`) or pharmacy (`ncpdp_id`) with this identifier enrolled?"""
        column = orm.prescribers.c.npi if identifier == "npi" else orm.pharmacies.c.ncpdp_id
        return self.uow.session.execute(select(column).where(column == value)).first() is not None


class Tokens(_Repository):
    def by_hash(self, digest: str) -> access.ApiToken | None:
        t = orm.api_tokens.c
        return self.uow.session.scalars(select(access.ApiToken).where(t.token_hash == digest)).first()


class AuditTrails(_Repository):
    """Reads of the (chained) audit log; entries are written by rems/services/lifecycle.py."""

    def of(self, entity: str, entity_id: str) -> Sequence[model.AuditEntry]:
        t = orm.audit_log.c
        return self._all(model.AuditEntry, t.entity == entity, t.entity_id == entity_id, order=t.id)


class Contacts(_Repository):
    """Issue 18: contact details at enrollment (rems/adapters/contact_store.py's table)."""

    def add(self, kind: str, holder_id: str, values: dict[str, Any], at: datetime) -> None:
        contact_store.add(self.uow.session, kind, holder_id, values, at)

    def of(self, kind: str, holder_id: str) -> dict[str, Any] | None:
        return contact_store.of(self.uow.session, kind, holder_id)


class Relaxations(_Repository):
    """Issue 17 item 5: activations of declared relaxations."""

    def activations(self, program_id: str) -> Sequence[RelaxationActivation]:
        t = orm.relaxation_activations.c
        query = select(RelaxationActivation).where(t.program_id == program_id).order_by(t.activated_at, t.id)
        return self.uow.session.scalars(query).all()
