"""The store's side of deciding before SQLite's write lock (issue 14 item 3; the decision and what a
changed fingerprint means are rems/services/dispensing/optimistic.py's): the dispense's head in one
statement, the fingerprint of what a decision read (from its records, and read again under the
lock in two statements: the versions, and the ids of the history rows of
rems/adapters/gate_reads.py's UNION ALL, whatever kinds it holds), and a snapshot's record adopted
by the writing session. `Optimistic` is the port rems/services/ports/gate.py gives the services
(`uow.optimistic`, issue 19 item 1).
"""

from __future__ import annotations

from dataclasses import fields
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Select, and_, bindparam, exists, func, inspect, literal_column, select
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from rems.adapters import gate_reads as reads
from rems.adapters import orm
from rems.domain.gate import Records
from rems.domain.model import Confirmation, Patient, Pharmacy, Prescription

if TYPE_CHECKING:
    from rems.adapters.uow import UnitOfWork

_P, _H = orm.certifications.alias("vpc"), orm.certifications.alias("vhc")
T = TypeVar("T")


@cache
def versions_statement() -> Select[Any]:
    """One row: the versions (and presence) of every row the gate's decision read, but history."""
    rx, pt, pr, ph, cf = orm.prescriptions, orm.patients, orm.prescribers, orm.pharmacies, orm.confirmations
    ps, rd = orm.prescriber_surveys.c, orm.readmission_decisions.c
    live, this = cf.alias("live"), cf.alias("this")
    pharmacy: Any = bindparam("pharmacy_id")

    def certified(alias: Any, kind: str, holder: Any) -> Any:
        return and_(alias.c.holder_kind == kind, alias.c.holder_id == holder,
                    alias.c.program_id == pt.c.program_id)
    return (select(rx.c.version.label("rx"), rx.c.state, pt.c.version.label("patient"), pt.c.person_id,
                   pr.c.version.label("prescriber"), ph.c.version.label("pharmacy"),
                   _P.c.id.label("pc_id"), _P.c.version.label("pc"), _H.c.id.label("hc_id"),
                   _H.c.version.label("hc"),
                   exists().where(ps.prescription_id == rx.c.id).label("survey_done"),
                   select(func.max(rd.decided_at)).where(rd.person_id == pt.c.person_id,
                                                         rd.program_id == pt.c.program_id)
                   .scalar_subquery().label("readmitted_at"),
                   # The literal lets SQLite use the partial index uq_confirmations_live (a bound
                   # 'issued' does not match its WHERE): it scanned every issued confirmation.
                   select(func.count()).where(live.c.prescription_id == rx.c.id,
                                              live.c.state == literal_column("'issued'"))
                   .scalar_subquery().label("live"),
                   select(this.c.version).where(this.c.id == bindparam("confirmation_id"))
                   .scalar_subquery().label("confirmation"))
            .select_from(rx)
            .join(pt, pt.c.id == rx.c.patient_id)
            .join(pr, pr.c.id == rx.c.prescriber_id)
            .outerjoin(ph, ph.c.id == pharmacy)
            .outerjoin(_P, certified(_P, "prescriber", rx.c.prescriber_id))
            .outerjoin(_H, certified(_H, "pharmacy", pharmacy))
            .where(rx.c.id == bindparam("prescription_id")))


@cache
def dispense_statement() -> Select[Any]:
    """A dispense's confirmation (by number), its authorization, patient and the pharmacy, in one
    statement (four ORM reads before)."""
    cf, rx, pt, ph = orm.confirmations, orm.prescriptions, orm.patients, orm.pharmacies
    return (select(*[column.label(f"{prefix}_{column.name}") for table, prefix in
                     ((cf, "cf"), (rx, "rx"), (pt, "pt"), (ph, "ph")) for column in table.c])
            .select_from(cf)
            .join(rx, rx.c.id == cf.c.prescription_id)
            .join(pt, pt.c.id == rx.c.patient_id)
            .outerjoin(ph, ph.c.id == bindparam("pharmacy_id"))
            .where(cf.c.number == bindparam("number")))


@cache
def history_ids_statement(of_person: bool) -> Any:
    """The (kind, id) of every history row the gate reads: the gate_reads UNION ALL itself, so a
    kind added there is covered here too (unordered: compared as a set, no sort)."""
    union = reads.history_statement(of_person).order_by(None).subquery()
    return select(union.c.kind, union.c.id)


def _version(entity: Any) -> tuple[Any, Any]:
    return (entity.id, entity.version) if entity is not None else (None, None)


def seen_in(records: Records, live: int) -> tuple[Any, ...]:
    """What the decision read, from the records it was made on (no statement): `live`, the
    authorization's live confirmations the caller knows of."""
    rx, patient, confirmation = records.prescription, records.patient, records.confirmation
    assert rx is not None and records.pharmacy is not None
    kinds = {cls: kind for kind, (cls, _table, _slots) in reads.KINDS.items()}
    history = frozenset((kinds[type(row)], row.id) for field in fields(records)
                        if isinstance(value := getattr(records, field.name), list | tuple)
                        for row in value if type(row) in kinds)
    return (rx.version, rx.state, patient.version, patient.person_id, records.prescriber.version,
            records.pharmacy.version, *_version(records.prescriber_certification),
            *_version(records.pharmacy_certification), records.prescriber_survey_done,
            records.readmitted_at if patient.person_id else None, live,
            confirmation.version if confirmation else None, history)


def seen_now(connection: Connection, rx: Prescription, patient: Patient, pharmacy_id: str,
             confirmation_id: str | None) -> tuple[Any, ...] | None:
    """The same, read again now (two statements); None if the authorization is gone."""
    row = connection.execute(versions_statement(), {
        "prescription_id": rx.id, "pharmacy_id": pharmacy_id, "confirmation_id": confirmation_id}).first()
    if row is None:
        return None
    of_person = patient.person_id is not None
    params = ({"patient_id": patient.id, "person_id": patient.person_id, "program_id": patient.program_id}
              if of_person else {"patient_id": patient.id})
    history = frozenset((kind, id_) for kind, id_ in connection.execute(history_ids_statement(of_person),
                                                                         params))
    return (row.rx, row.state, row.patient, row.person_id, row.prescriber, row.pharmacy, row.pc_id, row.pc,
            row.hc_id, row.hc, bool(row.survey_done),
            reads.as_utc(row.readmitted_at) if row.person_id else None, row.live, row.confirmation, history)


def adopt(uow: UnitOfWork, record: T) -> T:
    """The session's own copy of a record the snapshot read, without reading it again (an ORM read
    by key cost about 350 µs of CPU, a profile showed): `still_holds` has just found its version
    unchanged under the write lock, and every change bumps the version (STYLE 6), so these are the
    row's values now. Its UPDATE still names that version: a mismatch fails as a conflict."""
    mapper = inspect(type(record))
    entity: T = mapper.class_manager.new_instance()
    for attribute in mapper.column_attrs:
        set_committed_value(entity, attribute.key, record.__dict__[attribute.key])
    make_transient_to_detached(entity)
    uow.session.add(entity)
    return entity


class Optimistic:
    """ports.gate.Optimistic on the SQL unit of work (`uow.optimistic`)."""

    __slots__ = ("_uow",)

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def dispense_head(self, number: str, pharmacy_id: str
                      ) -> tuple[Confirmation, Prescription, Patient, Pharmacy | None] | None:
        row = self._uow.connection().execute(dispense_statement(), {
            "number": number, "pharmacy_id": pharmacy_id}).first()
        if row is None:
            return None
        head = row._mapping  # build() takes the head's column values by key (gate_reads.Head)
        return (reads.build(Confirmation, orm.confirmations, "cf", head),
                reads.build(Prescription, orm.prescriptions, "rx", head),
                reads.build(Patient, orm.patients, "pt", head),
                reads.built_or_none(Pharmacy, orm.pharmacies, "ph", head))

    seen_in = staticmethod(seen_in)

    def seen_now(self, rx: Prescription, patient: Patient, pharmacy_id: str,
                 confirmation_id: str | None) -> tuple[Any, ...] | None:
        """Under the write lock (this takes it on SQLite: BEGIN IMMEDIATE, held to the commit)."""
        return seen_now(self._uow.connection(), rx, patient, pharmacy_id, confirmation_id)

    def adopt(self, record: T) -> T:
        return adopt(self._uow, record)
