"""The gate's reads as two SQLAlchemy Core statements (issue 14 item 2), rows -> domain objects;
`GateReads` is the port rems/services/ports/gate.py gives the services (`uow.gate`, issue 19 item 1).

One statement for the "head" (the prescriber, both certifications in the patient's program (R1,
R25), whether the prescriber survey is done (R19), the latest readmission decision (R34), and for
the check the authorization, its patient and the pharmacy), one UNION ALL for the history (R34:
tests and pregnancy reports of every enrollment of the person, dispenses (R28) and patient surveys
(R20) of every enrollment in this program, the PPAFs of this enrollment, and the person's lab
results (issue 17 item 1)). The statements are built once per process with bound parameters and
compiled once per store (rems/adapters/prepared.py); they run on the DBAPI cursor, and their rows
become domain objects directly: no Row, no session, no identity map (nothing here is written back).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Connection,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    cast,
    exists,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import configure_mappers
from sqlalchemy.sql.elements import KeyedColumnElement

from rems.adapters import orm
from rems.adapters.orm import DecimalText, UTCDateTime
from rems.adapters.prepared import Prepared
from rems.domain import model
from rems.domain.gate import Records
from rems.domain.model import (
    Certification,
    Confirmation,
    Counselling,
    Patient,
    Pharmacy,
    Prescriber,
    Prescription,
)

if TYPE_CHECKING:
    from rems.adapters.uow import UnitOfWork

T = TypeVar("T")
_P, _H = orm.certifications.alias("pc"), orm.certifications.alias("hc")  # prescriber's, pharmacy's


def _labelled(table: Any, prefix: str) -> list[Any]:
    return [c.label(f"{prefix}_{c.name}") for c in table.c]


_configured = False


def _configure() -> None:
    global _configured
    configure_mappers()
    _configured = True


def detached(cls: type[T], values: dict[str, Any]) -> T:
    """A read-only domain object: its column attributes set plainly, no ORM state at all (the
    mapped constructor's instrumentation cost more than the SQL; a profile showed it). Reading it
    is ordinary; adding it to a session or setting an attribute fails loudly, never silently.
    The mappers must be configured first: an attribute of a class whose mapper is not configured
    yet has no implementation (a process whose first read is this one, e.g. `rems program status`)."""
    if not _configured:
        _configure()
    entity: T = cls.__new__(cls)
    entity.__dict__.update(values)
    return entity


Head = Mapping[Any, Any]  # one row of a head statement, by column key


@cache
def _names(table: Any, prefix: str) -> tuple[tuple[str, str], ...]:
    return tuple((c.name, f"{prefix}_{c.name}") for c in table.c)


def build(cls: type[T], table: Any, prefix: str, head: Head) -> T:
    """A domain object from the prefixed columns of one head row (outside any session)."""
    return detached(cls, {name: head[key] for name, key in _names(table, prefix)})


def built_or_none(cls: type[T], table: Any, prefix: str, head: Head) -> T | None:
    """As `build`, None when an outer join found nothing (its primary key is NULL)."""
    return build(cls, table, prefix, head) if head[f"{prefix}_id"] is not None else None


_PREPARED: dict[tuple[Any, ...], Prepared] = {}


def prepared(connection: Connection, build: Callable[..., Select[Any]], *args: Any) -> Prepared:
    """The statement `build(*args)` compiled once for the connection's store (issue 14 item 2)."""
    dialect = connection.dialect
    key = (build, args, dialect.name, dialect.driver, dialect.paramstyle)
    found = _PREPARED.get(key)
    if found is None:
        configure_mappers()  # `detached` objects read their attributes through the mapped classes
        found = _PREPARED[key] = Prepared(build(*args), dialect)
    return found


def head(connection: Connection, build: Callable[[], Select[Any]], params: dict[str, Any]) -> Head | None:
    """The first row of a head statement (`check_statement`, `context_statement`), by column key."""
    statement = prepared(connection, build)
    rows = statement.rows(connection, params)
    return dict(zip(statement.keys, rows[0], strict=True)) if rows else None


def _context(prescriber_id: Any, program_id: Any, person_id: Any, prescription_id: Any) -> list[Any]:
    """The columns every gate read shares, correlated to the given expressions."""
    rd, ps = orm.readmission_decisions.c, orm.prescriber_surveys.c
    return [*_labelled(orm.prescribers, "pr"), *_labelled(_P, "pc"), *_labelled(_H, "hc"),
            exists().where(ps.prescription_id == prescription_id).label("survey_done"),
            select(func.max(rd.decided_at)).where(rd.person_id == person_id, rd.program_id == program_id)
            .scalar_subquery().label("readmitted_at")]


def _certified(alias: Any, kind: str, holder: Any, program_id: Any) -> ColumnElement[bool]:
    return and_(alias.c.holder_kind == kind, alias.c.holder_id == holder, alias.c.program_id == program_id)


@cache
def context_statement() -> Select[Any]:
    """load_records: the patient (and prescription, pharmacy) are already at hand."""
    pr = orm.prescribers
    program: Any = bindparam("program_id")
    return (select(*_context(pr.c.id, program, bindparam("person_id"), bindparam("prescription_id")))
            .select_from(pr)
            .outerjoin(_P, _certified(_P, "prescriber", pr.c.id, program))
            .outerjoin(_H, _certified(_H, "pharmacy", bindparam("pharmacy_id"), program))
            .where(pr.c.id == bindparam("prescriber_id")))


@cache
def check_statement() -> Select[Any]:
    """The check: the authorization by number, its patient, the pharmacy and the context at once."""
    rx, pt, pr, ph = orm.prescriptions, orm.patients, orm.prescribers, orm.pharmacies
    pharmacy: Any = bindparam("pharmacy_id")
    return (select(*_labelled(rx, "rx"), *_labelled(pt, "pt"), *_labelled(ph, "ph"),
                   *_context(rx.c.prescriber_id, pt.c.program_id, pt.c.person_id, rx.c.id))
            .select_from(rx)
            .join(pt, pt.c.id == rx.c.patient_id)
            .join(pr, pr.c.id == rx.c.prescriber_id)
            .outerjoin(ph, ph.c.id == pharmacy)
            .outerjoin(_P, _certified(_P, "prescriber", rx.c.prescriber_id, pt.c.program_id))
            .outerjoin(_H, _certified(_H, "pharmacy", pharmacy, pt.c.program_id))
            .where(rx.c.number == bindparam("number")))


# -- the history: five kinds of record in one UNION ALL, each in the same slots ------------------
_SLOTS: dict[str, Any] = {"t1": UTCDateTime, "t2": UTCDateTime, "s1": String, "s2": String, "s3": String,
                          "s4": String, "n1": Integer, "b1": Boolean, "b2": Boolean, "b3": Boolean,
                          "d1": DecimalText, "d2": DecimalText, "d3": DecimalText}
# kind: (class, table, {slot: column}); t1 is the column each kind is ordered by, as before.
KINDS: dict[str, tuple[type[Any], Any, dict[str, str]]] = {
    "1ppaf": (model.Ppaf, orm.ppafs, {"t1": "signed_at", "s1": "prescriber_id", "s2": "category",
                                      "s3": "signed_by", "s4": "guardian_name"}),
    "2test": (model.PregnancyTest, orm.pregnancy_tests, {
        "t1": "collected_at", "t2": "recorded_at", "s1": "result", "s2": "setting",
        "n1": "sensitivity_miu_per_ml", "b1": "home_test_accepted"}),
    "3survey": (model.PatientSurvey, orm.patient_surveys, {"t1": "completed_at", "s1": "respondent"}),
    "4dispense": (model.Dispense, orm.dispenses, {
        "t1": "dispensed_at", "s1": "prescription_id", "s2": "confirmation_id", "s3": "pharmacy_id",
        "n1": "days_supply", "b1": "counselled", "b2": "education_checklist_completed",
        "b3": "medication_guide_given"}),
    "5report": (model.PregnancyReport, orm.pregnancy_reports, {"t1": "reported_at", "s1": "source",
                                                               "s2": "status"}),
    # Issue 17 item 1: lab results (ALT, AST, ANC...), the person's in every enrollment (R34)
    "6lab": (model.LabResult, orm.lab_results, {
        "t1": "collected_at", "t2": "recorded_at", "s1": "analyte", "s2": "unit", "s3": "setting",
        "d1": "value", "d2": "upper_limit_normal", "d3": "lower_limit"}),
}


def _branch(kind: str, where: ColumnElement[bool]) -> Select[Any]:
    _cls, table, slots = KINDS[kind]
    columns: list[KeyedColumnElement[Any]] = [literal(kind, String).label("kind"), table.c.id.label("id"),
                                              table.c.patient_id.label("patient_id")]
    for slot, kind_of in _SLOTS.items():
        column = table.c[slots[slot]] if slot in slots else cast(null(), kind_of)
        columns.append(column.label(slot))
    return select(*columns).where(where)


def _enrollments(program: bool) -> Any:
    """R34: the ids of the person's enrollments, in every program or in this one."""
    p = orm.patients.c
    where = [p.person_id == bindparam("person_id")]
    where += [p.program_id == bindparam("program_id")] if program else []
    return select(p.id).where(*where).scalar_subquery()


@cache
def history_statement(of_person: bool) -> Any:
    """`of_person`: the person's history (R34); otherwise one enrollment's (hand-built records)."""
    patient: Any = bindparam("patient_id")

    def whose(table: Any, program: bool) -> ColumnElement[bool]:
        column: ColumnElement[Any] = table.c.patient_id
        return column.in_(_enrollments(program)) if of_person else column == patient
    branches = [_branch("1ppaf", orm.ppafs.c.patient_id == patient),
                _branch("2test", whose(orm.pregnancy_tests, False)),
                _branch("3survey", whose(orm.patient_surveys, True)),
                _branch("4dispense", whose(orm.dispenses, True)),
                _branch("6lab", whose(orm.lab_results, False))]
    if of_person:
        branches.append(_branch("5report", whose(orm.pregnancy_reports, False)))
    union = union_all(*branches).subquery()
    return select(union).order_by(union.c.kind, union.c.t1)


@cache
def _slots_at(statement: Prepared) -> dict[str, tuple[type[Any], tuple[tuple[str, int], ...]]]:
    """Per kind: its class and (attribute, position in the row) of each of its slots."""
    at = statement.index
    return {kind: (cls, (("id", at["id"]), ("patient_id", at["patient_id"]),
                         *((column, at[slot]) for slot, column in slots.items())))
            for kind, (cls, _table, slots) in KINDS.items()}


def history(connection: Connection, patient: model.Patient) -> dict[str, list[Any]]:
    """Every kind of record in KINDS, each list in its time order."""
    of_person = patient.person_id is not None
    params = {"patient_id": patient.id, "person_id": patient.person_id, "program_id": patient.program_id}
    if not of_person:
        params = {"patient_id": patient.id}
    statement = prepared(connection, history_statement, of_person)
    shapes = _slots_at(statement)
    found: dict[str, list[Any]] = {kind: [] for kind in KINDS}
    for row in statement.rows(connection, params):
        kind = row[0]
        cls, slots = shapes[kind]
        found[kind].append(detached(cls, {column: row[i] for column, i in slots}))
    return found


# -- the port (rems/services/ports/gate.py): the head and the history as domain records ----------
def as_utc(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:  # SQLite's aggregate skips the column type
        return moment.replace(tzinfo=UTC)
    return moment


def _records(connection: Connection, head: Head, patient: Patient, prescription: Prescription | None,
             pharmacy: Pharmacy | None, confirmation: Confirmation | None,
             counselling: Counselling | None) -> Records:
    found = history(connection, patient)
    person = patient.person_id
    return Records(
        patient=patient, prescriber=build(Prescriber, orm.prescribers, "pr", head),
        prescription=prescription, ppafs=found["1ppaf"], tests=found["2test"],
        patient_surveys=found["3survey"],
        prescriber_survey_done=prescription is not None and bool(head["survey_done"]),
        dispenses=found["4dispense"], pharmacy=pharmacy, confirmation=confirmation, counselling=counselling,
        # R1, R25: the certifications in the patient's program only
        prescriber_certification=built_or_none(Certification, orm.certifications, "pc", head),
        pharmacy_certification=(built_or_none(Certification, orm.certifications, "hc", head)
                                if pharmacy else None),
        pregnancy_reports=found["5report"] if person else (),
        readmitted_at=as_utc(head["readmitted_at"]) if person else None, lab_results=found["6lab"])


class _CheckHead:
    """The check's head row, built (ports.gate.CheckHead); `records()` runs the history."""

    __slots__ = ("_connection", "_head", "patient", "pharmacy", "prescription")

    def __init__(self, connection: Connection, head: Head) -> None:
        self._connection, self._head = connection, head
        self.prescription = build(Prescription, orm.prescriptions, "rx", head)
        self.pharmacy = built_or_none(Pharmacy, orm.pharmacies, "ph", head)
        self.patient = build(Patient, orm.patients, "pt", head)

    def records(self) -> Records:
        return _records(self._connection, self._head, self.patient, self.prescription, self.pharmacy,
                        None, None)


class GateReads:
    """ports.gate.GateReads on the SQL unit of work's connection (`uow.gate`)."""

    __slots__ = ("_uow",)

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def records(self, prescriber_id: str, patient: Patient, prescription: Prescription | None,
                pharmacy: Pharmacy | None, confirmation: Confirmation | None,
                counselling: Counselling | None) -> Records | None:
        connection = self._uow.connection()
        found = head(connection, context_statement, {
            "prescriber_id": prescriber_id, "program_id": patient.program_id, "person_id": patient.person_id,
            "prescription_id": prescription.id if prescription else None,
            "pharmacy_id": pharmacy.id if pharmacy else None})
        if found is None:
            return None
        return _records(connection, found, patient, prescription, pharmacy, confirmation, counselling)

    def check(self, number: str, pharmacy_id: str) -> _CheckHead | None:
        connection = self._uow.connection()
        found = head(connection, check_statement, {"number": number, "pharmacy_id": pharmacy_id})
        return _CheckHead(connection, found) if found is not None else None
