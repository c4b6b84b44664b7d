"""Unit of work over SQLAlchemy: one session, one transaction, explicit commit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from rems.domain import model
from rems.domain.errors import Conflict, NotFound
from workflows.program import Program

T = TypeVar("T")


@dataclass(frozen=True)
class Context:
    """Who acts, when, and under which request: every service call carries one."""

    actor: str
    now: datetime
    request_id: str | None = None

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("Context.now must be timezone-aware UTC")


class UnitOfWork:
    def __init__(self, sessions: sessionmaker[Session], programs: Mapping[str, Program]) -> None:
        self._sessions = sessions
        self.programs = programs
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = self._sessions()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
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
        return self._all(model.Ppaf, model.Ppaf.patient_id == patient_id,  # type: ignore[arg-type]
                         order=model.Ppaf.signed_at)

    def tests(self, patient_id: str) -> Sequence[model.PregnancyTest]:
        t = model.PregnancyTest
        return self._all(t, t.patient_id == patient_id, order=t.collected_at)  # type: ignore[arg-type]

    def patient_surveys(self, patient_id: str) -> Sequence[model.PatientSurvey]:
        s = model.PatientSurvey
        return self._all(s, s.patient_id == patient_id, order=s.completed_at)  # type: ignore[arg-type]

    def dispenses(self, patient_id: str) -> Sequence[model.Dispense]:
        d = model.Dispense
        return self._all(d, d.patient_id == patient_id, order=d.dispensed_at)  # type: ignore[arg-type]

    def prescriptions(self, *where: Any) -> Sequence[model.Prescription]:
        return self._all(model.Prescription, *where, order=model.Prescription.requested_at)

    def prescription_by_number(self, number: str, lock: bool = False) -> model.Prescription:
        query = select(model.Prescription).where(model.Prescription.number == number)  # type: ignore[arg-type]
        if lock:
            query = query.with_for_update()
        found = self.session.scalars(query).first()
        if found is None:
            raise NotFound("authorization", number)
        return found

    def confirmation_by_number(self, number: str) -> model.Confirmation:
        c = model.Confirmation
        found = self.session.scalars(select(c).where(c.number == number)).first()  # type: ignore[arg-type]
        if found is None:
            raise NotFound("confirmation", number)
        return found

    def live_confirmation(self, prescription_id: str) -> model.Confirmation | None:
        c = model.Confirmation
        return self.session.scalars(select(c).where(
            c.prescription_id == prescription_id, c.state == "issued")).first()  # type: ignore[arg-type]

    def live_confirmations_of(self, pharmacy_id: str) -> Sequence[model.Confirmation]:
        c = model.Confirmation
        return self._all(c, c.pharmacy_id == pharmacy_id, c.state == "issued")  # type: ignore[arg-type]

    def prescriber_survey_done(self, prescription_id: str) -> bool:
        s = model.PrescriberSurvey
        return self.session.scalars(select(s.id).where(  # type: ignore[arg-type]
            s.prescription_id == prescription_id)).first() is not None

    def audit_trail(self, entity: str, entity_id: str) -> Sequence[model.AuditEntry]:
        a = model.AuditEntry
        return self._all(a, a.entity == entity, a.entity_id == entity_id, order=a.id)  # type: ignore[arg-type]
