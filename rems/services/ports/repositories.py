"""The repositories a service reaches through its unit of work (issue 19 item 1), one per
aggregate: `uow.patients`, `uow.persons`, `uow.prescriptions`, `uow.confirmations`,
`uow.certifications`, `uow.tokens`, `uow.audit_trails`, `uow.contacts`, `uow.relaxations`.

rems/adapters/repositories.py implements them over SQL, tests/fakes/ in memory. Lists come back in
the store's order (the order each docstring or the SQL adapter gives)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Protocol

from rems.domain import access, model
from rems.domain.lifecycle import RelaxationActivation


class PatientRecords(Protocol):
    """One enrollment (patient record) and what it holds."""

    def ppafs(self, patient_id: str) -> Sequence[model.Ppaf]:
        """R5, R7: the PPAFs signed for the enrollment, oldest first."""
        ...

    def tests(self, patient_id: str) -> Sequence[model.PregnancyTest]:
        """R9-R12: pregnancy tests, by collection time."""
        ...

    def surveys(self, patient_id: str) -> Sequence[model.PatientSurvey]:
        """R16: patient surveys, by completion time."""
        ...

    def dispenses(self, patient_id: str) -> Sequence[model.Dispense]:
        """R28: dispenses, by dispense time."""
        ...

    def lab_results(self, patient_id: str) -> Sequence[model.LabResult]:
        """Issue 17 item 1: lab results, by collection time."""
        ...

    def of_prescriber(self, prescriber_id: str, limit: int, offset: int = 0) -> Sequence[model.Patient]:
        """A prescriber's patients, by enrollment time then id, one page."""
        ...

    def in_program(self, program_id: str, states: Sequence[str]) -> Sequence[model.Patient]:
        """Issue 17 item 6: a program's enrollments in one of `states`, oldest first."""
        ...


class Persons(Protocol):
    """R34: the person behind enrollments."""

    def for_identity(self, key: str, birth_date: date, sex: str, now: datetime) -> model.Person:
        """The person with this identity, created (and flushed) if there is none yet."""
        ...

    def claim(self, person: model.Person) -> None:
        """Serialise what changes one person's enrollments (a concurrent claim is a Conflict)."""
        ...

    def identifier(self, system: str, value: str) -> model.PersonIdentifier | None: ...

    def enrollments(self, person_id: str, program_id: str | None = None) -> Sequence[model.Patient]:
        """Every enrollment of the person, in one program or in all, by enrollment time."""
        ...

    def lab_results(self, person_id: str) -> Sequence[model.LabResult]: ...

    def tests(self, person_id: str) -> Sequence[model.PregnancyTest]: ...

    def dispenses(self, person_id: str, program_id: str) -> Sequence[model.Dispense]: ...

    def surveys(self, person_id: str, program_id: str) -> Sequence[model.PatientSurvey]: ...

    def pregnancy_reports(self, person_id: str) -> Sequence[model.PregnancyReport]: ...

    def readmitted_at(self, person_id: str, program_id: str) -> datetime | None:
        """When the administrator last decided to admit the person to the program again."""
        ...


class Prescriptions(Protocol):
    def matching(self, *, patient_id: str | None = None, prescriber_id: str | None = None,
                 states: Sequence[str] | None = None, expired_before: datetime | None = None,
                 program_id: str | None = None) -> Sequence[model.Prescription]:
        """Every prescription matching all the filters given, by request time."""
        ...

    def by_number(self, number: str, lock: bool = False) -> model.Prescription:
        """The authorization with this number (NotFound "authorization"); `lock`: as
        `UnitOfWork.lock_prescription`."""
        ...

    def survey_done(self, prescription_id: str) -> bool:
        """R19: the prescriber's survey for this prescription is recorded."""
        ...


class Confirmations(Protocol):
    def by_number(self, number: str) -> model.Confirmation:
        """NotFound "confirmation" when no confirmation has this number."""
        ...

    def issued(self, *, prescription_id: str | None = None, pharmacy_id: str | None = None,
               expired_before: datetime | None = None) -> Sequence[model.Confirmation]:
        """Live (issued) confirmations matching every filter given, by issue time."""
        ...

    def live(self, prescription_id: str) -> model.Confirmation | None: ...


class Certifications(Protocol):
    def of(self, kind: str, holder_id: str, program_id: str,
           lock: bool = False) -> model.Certification | None:
        """R1, R25: the holder's certification in this program, or None."""
        ...

    def matching(self, kind: str, holder_ids: Sequence[str] | None = None,
                 program_id: str | None = None) -> Sequence[model.Certification]:
        """Certifications of `kind`, of these holders and/or in this program, by program then holder."""
        ...

    def already_enrolled(self, identifier: str, value: str) -> bool:
        """A prescriber (`npi`) or a pharmacy (`ncpdp_id`) with this identifier is enrolled."""
        ...


class Tokens(Protocol):
    def by_hash(self, digest: str) -> access.ApiToken | None: ...


class AuditTrails(Protocol):
    def of(self, entity: str, entity_id: str) -> Sequence[model.AuditEntry]:
        """The chained entries about one record, in chain order."""
        ...


class Contacts(Protocol):
    """Issue 18: contact details at enrollment (never logged, never audited)."""

    def add(self, kind: str, holder_id: str, values: dict[str, Any], at: datetime) -> None: ...

    def of(self, kind: str, holder_id: str) -> dict[str, Any] | None: ...


class Relaxations(Protocol):
    def activations(self, program_id: str) -> Sequence[RelaxationActivation]:
        """Issue 17 item 5: the program's activations, by activation time then id."""
        ...
