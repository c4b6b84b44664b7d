"""Confirmations and dispenses decided before SQLite's write lock (issue 14 item 3).

SQLite has one write lock per database, and a writing transaction takes it when it begins
(`BEGIN IMMEDIATE`, issue 13 item 8). Held through the gate's reads, it made every other writer
wait for them (a profile: 38 % of a confirmation's time in `WriterQueue.enter`). Here a writer
on SQLite first reads the gate's records in a read transaction (a snapshot; WAL readers never wait)
and decides there; then it takes the write lock and re-reads only what that decision depended on:
the versions of the prescription, the patient, the prescriber, the pharmacy, both certifications
(R1, R25) and the confirmation (R27), whether the prescriber survey is done (R19), the latest
readmission decision (R34), the live confirmations of the authorization (R26), and the ids of the
history rows (R34: the UNION ALL of rems/services/dispensing/gate_reads.py, whatever kinds it holds). The
history tables are append-only and every versioned row is changed through the ORM, which bumps
its version (STYLE 6), so equal fingerprints mean the records the gate read are the records under
the lock, and the decision stands as if it had been made there. On any difference the caller
decides again under the lock, exactly as before (one re-evaluation, no loop). A refusal keeps the
same path: it is raised under the lock and audited as before (issue 6).

PostgreSQL is unchanged: its row locks do not stop readers, so there is nothing to gain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from functools import cache
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Connection, Select, and_, bindparam, exists, func, inspect, literal_column, select
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from rems.adapters import orm
from rems.adapters.uow import UnitOfWork
from rems.domain import gate
from rems.domain.catalogue import ConfirmationState, PrescriptionState
from rems.domain.errors import DomainError
from rems.domain.gate import Records
from rems.domain.model import Confirmation, Counselling, Patient, Pharmacy, Prescription
from rems.domain.requirements import Decision
from rems.services.commands import PharmacyRequest, RecordDispense
from rems.services.context import Context
from rems.services.dispensing import gate_reads as reads
from rems.services.dispensing.records import load_check, load_records
from workflows.program import Program

_P, _H = orm.certifications.alias("vpc"), orm.certifications.alias("vhc")
T = TypeVar("T")

# Tests only: called between the snapshot and the write lock (to commit a competing change there).
between: Callable[[], None] | None = None


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


def _utc(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:  # SQLite's aggregate skips the column type
        return moment.replace(tzinfo=UTC)
    return moment


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
            row.hc_id, row.hc, bool(row.survey_done), _utc(row.readmitted_at) if row.person_id else None,
            row.live, row.confirmation, history)


@dataclass(frozen=True)
class Ahead:
    """A decision made on a snapshot, and what it read."""

    rx: Prescription
    patient: Patient
    pharmacy: Pharmacy
    confirmation: Confirmation | None
    decision: Decision
    seen: tuple[Any, ...]

    def still_holds(self, uow: UnitOfWork) -> bool:
        """Under the write lock (this takes it): is every record the decision read unchanged?"""
        if between is not None:
            between()
        connection = uow.connection()  # BEGIN IMMEDIATE: the write lock from here to the commit
        confirmation_id = self.confirmation.id if self.confirmation else None
        return seen_now(connection, self.rx, self.patient, self.pharmacy.id, confirmation_id) == self.seen


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


def _ahead(uow: UnitOfWork, decide: Callable[[UnitOfWork], Ahead | None]) -> Ahead | None:
    snapshot = uow.snapshot()
    if snapshot is None:
        return None
    try:
        with snapshot:
            return decide(snapshot)
    except DomainError:
        return None  # the locked path answers (and words the error) exactly as before


class Confirming(NamedTuple):
    rx: Prescription  # the session's, under the write lock
    pharmacy: Pharmacy
    program: Program
    decision: Decision


def confirmation(uow: UnitOfWork, ctx: Context, cmd: PharmacyRequest) -> Confirming | None:
    """R26: the confirm stage's decision, made before the write lock and still true under it; None
    when the caller must decide under the lock (PostgreSQL, a record changed, a live confirmation
    to expire first, anything unusual)."""
    def decide(snapshot: UnitOfWork) -> Ahead | None:
        rx, pharmacy, records = load_check(snapshot, cmd.number, cmd.pharmacy_id, cmd.patient_id)
        if rx.state != PrescriptionState.AUTHORIZED:  # e.g. a live confirmation, which R27 may expire under the lock
            return None
        seen = seen_in(records, live=0)
        decision = gate.evaluate("confirm", records, snapshot.program(rx.program_id), ctx.now)
        return Ahead(rx, records.patient, pharmacy, None, decision, seen)

    ahead = _ahead(uow, decide)
    if ahead is None or not ahead.still_holds(uow):
        return None
    return Confirming(adopt(uow, ahead.rx), ahead.pharmacy, uow.program(ahead.rx.program_id), ahead.decision)


class Dispensing(NamedTuple):
    confirmation: Confirmation  # the session's, as are the prescription and the patient
    pharmacy: Pharmacy
    rx: Prescription
    patient: Patient
    decision: Decision


def dispense(uow: UnitOfWork, ctx: Context, cmd: RecordDispense) -> Dispensing | None:
    """R27-R29, R33: the dispense stage's decision, as `confirmation` (the database still refuses a
    second dispense, R33)."""
    def decide(snapshot: UnitOfWork) -> Ahead | None:
        row = snapshot.connection().execute(dispense_statement(), {
            "number": cmd.confirmation_number, "pharmacy_id": cmd.pharmacy_id}).first()
        if row is None or row.ph_id is None or row.cf_pharmacy_id != row.ph_id:
            return None  # the locked path words the error (unknown or not this pharmacy's)
        head = row._mapping  # build() takes the head's column values by key (gate_reads.Head)
        confirmation = reads.build(Confirmation, orm.confirmations, "cf", head)
        rx = reads.build(Prescription, orm.prescriptions, "rx", head)
        patient = reads.build(Patient, orm.patients, "pt", head)
        pharmacy = reads.build(Pharmacy, orm.pharmacies, "ph", head)
        counselling = Counselling(cmd.counselled, cmd.education_checklist_completed,
                                  cmd.medication_guide_given)
        records = load_records(snapshot, patient, rx, pharmacy, confirmation, counselling)
        seen = seen_in(records, live=1 if confirmation.state == ConfirmationState.ISSUED else 0)
        decision = gate.evaluate("dispense", records, snapshot.program(rx.program_id), ctx.now)
        return Ahead(rx, patient, pharmacy, confirmation, decision, seen)

    ahead = _ahead(uow, decide)
    if ahead is None or ahead.confirmation is None or not ahead.still_holds(uow):
        return None
    return Dispensing(adopt(uow, ahead.confirmation), ahead.pharmacy, adopt(uow, ahead.rx),
                      adopt(uow, ahead.patient), ahead.decision)
