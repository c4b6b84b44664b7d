"""Moving a program in and out, the store's side (issue 17 item 8; issue 19 item 1): the records of
one program read in one snapshot and encoded as the export's JSON values, decoded and inserted on
import, the chain copied verbatim. The format and every check are rems/services/transfer/'s; a
record file is named as its table (rems.services.transfer.format.RECORDS)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, Date, Integer, Table, func, insert, select, text, union, update
from sqlalchemy.exc import IntegrityError

from rems.adapters import orm
from rems.adapters.audit_chain import HEAD_ID
from rems.adapters.orm import UTCDateTime
from rems.domain.errors import InvalidInput
from rems.domain.instants import instant, parse_instant
from rems.domain.model import Prescription

if TYPE_CHECKING:
    from rems.adapters.uow import UnitOfWork


def table(name: str) -> Table:
    """The table a record file holds (the file is named as the table)."""
    return orm.metadata.tables[name]


def encode_row(table: Table, row: Any) -> dict[str, Any]:
    """A row as JSON values, every column present, in the table's column order."""
    out: dict[str, Any] = {}
    for column in table.c:
        value = row[column.name]
        if value is not None and isinstance(column.type, UTCDateTime):
            value = instant(value if value.tzinfo else value.replace(tzinfo=UTC))
        elif isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, Decimal):  # a lab value, exactly as reported
            value = str(value)
        out[column.name] = value
    return out


def decode_row(table: Table, data: Any, where: str) -> dict[str, Any]:
    """A JSON object back into column values; InvalidInput naming `where` and the column."""
    if not isinstance(data, dict):
        raise InvalidInput(where, "each line must be a JSON object")
    unknown = sorted(set(data) - {c.name for c in table.c})
    if unknown:
        raise InvalidInput(where, f"unknown field {unknown[0]!r}")
    out: dict[str, Any] = {}
    for column in table.c:
        value = data.get(column.name)
        try:
            out[column.name] = _decoded(column.type, value)
        except (TypeError, ValueError) as error:
            raise InvalidInput(f"{where}.{column.name}", str(error)) from None
        if out[column.name] is None and not column.nullable and not column.primary_key:
            raise InvalidInput(f"{where}.{column.name}", "required")
    return out


def _decoded(kind: Any, value: Any) -> Any:
    if value is None or isinstance(kind, JSON):
        return value
    if isinstance(kind, UTCDateTime):
        return parse_instant(_text(value))
    if isinstance(kind, Date):
        return date.fromisoformat(_text(value))
    if isinstance(kind, Boolean):
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if isinstance(kind, orm.DecimalText):
        try:
            return Decimal(_text(value))
        except InvalidOperation:
            raise ValueError("must be a decimal number as text") from None
    if isinstance(kind, Integer):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError("must be an integer")
        return value
    return _text(value)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value


def _selection(names: Sequence[str], program_id: str, alone: bool) -> dict[str, Any]:
    """The rows' WHERE clause per file: the program's records and the actors and persons they name
    (subqueries, never lists of ids: a program's size is not bounded by a statement's parameters)."""
    if alone:
        return {name: None for name in names}
    pt, rx, cert, cf = orm.patients.c, orm.prescriptions.c, orm.certifications.c, orm.confirmations.c
    patients = select(pt.id).where(pt.program_id == program_id)
    rxs = select(rx.id).where(rx.program_id == program_id)
    persons = select(pt.person_id).where(pt.program_id == program_id)
    doctors = union(select(cert.holder_id).where(cert.program_id == program_id, cert.holder_kind == "prescriber"),
                    select(pt.prescriber_id).where(pt.program_id == program_id),
                    select(rx.prescriber_id).where(rx.program_id == program_id),
                    select(orm.ppafs.c.prescriber_id).where(orm.ppafs.c.patient_id.in_(patients)))
    pharmacies = union(select(cert.holder_id).where(cert.program_id == program_id, cert.holder_kind == "pharmacy"),
                       select(cf.pharmacy_id).where(cf.prescription_id.in_(rxs)))
    rd = orm.readmission_decisions.c
    chosen: dict[str, Any] = {
        "persons": orm.persons.c.id.in_(persons),
        "person_identifiers": orm.person_identifiers.c.person_id.in_(persons),
        "prescribers": orm.prescribers.c.id.in_(doctors), "pharmacies": orm.pharmacies.c.id.in_(pharmacies),
        "readmission_decisions": (rd.program_id == program_id) & rd.person_id.in_(persons)}
    # Every other file by the first of these columns it has: a table added to RECORDS (e.g. another
    # lane's record of a patient) is selected without more code.
    for name in names:
        if name not in chosen:
            t = table(name)
            chosen[name] = (t.c.patient_id.in_(patients) if "patient_id" in t.c
                            else t.c.prescription_id.in_(rxs) if "prescription_id" in t.c
                            else t.c.program_id == program_id)
    return chosen


class TransferStore:
    """`uow.transfer` (rems.services.ports.transfer.TransferStore)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    # -- export (read-only, one snapshot) -------------------------------------------------------
    def snapshot(self) -> None:
        """Every read after this one reads the same snapshot (call it first)."""
        connection = self._uow.connection()
        if connection.dialect.name == "postgresql":  # every statement below reads the same snapshot
            connection.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))

    def alone(self, program_id: str) -> bool:
        """Does the engine hold records of this program only?"""
        connection = self._uow.connection()
        for t in (orm.patients, orm.certifications, orm.readmission_decisions, orm.prescriptions):
            other = select(func.count()).select_from(t).where(t.c.program_id != program_id)
            if connection.execute(other).scalar():
                return False
        return True

    def records(self, names: Sequence[str], program_id: str,
                alone: bool) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """Per file in `names`, the program's rows (every row when `alone`) by id, encoded."""
        connection = self._uow.connection()
        selection = _selection(names, program_id, alone)
        for name in names:
            t = table(name)
            query = select(t).order_by(t.c.id)
            if selection[name] is not None:
                query = query.where(selection[name])
            yield name, [encode_row(t, row) for row in connection.execute(query).mappings()]

    def enrolled_elsewhere(self, program_id: str) -> int:
        """R34: persons of this program enrolled in another one too (their history there is not
        exported, so the copy's gate may read less of it: the proof says so if it matters)."""
        pt = orm.patients
        other = pt.alias("other")
        query = (select(func.count(func.distinct(pt.c.person_id)))
                 .select_from(pt.join(other, other.c.person_id == pt.c.person_id))
                 .where(pt.c.program_id == program_id, other.c.program_id != program_id))
        return int(self._uow.connection().execute(query).scalar() or 0)

    def open_prescriptions(self, program_id: str, states: Sequence[str]) -> list[Prescription]:
        t = orm.prescriptions.c
        query = (select(Prescription).where(t.program_id == program_id, t.state.in_(states))
                 .order_by(t.requested_at, t.id))
        return list(self._uow.session.scalars(query))

    # -- import -----------------------------------------------------------------------------------
    def decoded(self, name: str, records: Iterable[tuple[int, Any]]) -> list[dict[str, Any]]:
        """A record file's lines as column values; InvalidInput naming the file, line and column."""
        t = table(name)
        return [decode_row(t, data, f"{name}.ndjson:{number}") for number, data in records]

    def count(self, name: str) -> int:
        return int(self._uow.session.execute(select(func.count()).select_from(table(name))).scalar() or 0)

    def insert(self, name: str, values: list[dict[str, Any]]) -> bool:
        """Insert a file's rows; False if one repeats a key or refers to a record not there (the
        transaction is then to be rolled back whole)."""
        try:
            self._uow.connection().execute(insert(table(name)), values)
        except IntegrityError:
            return False
        return True

    def copy_chain(self, entries: list[dict[str, Any]]) -> None:
        """Chained entries inserted verbatim (sequence and hashes), the head moved to the last."""
        connection = self._uow.connection()
        if entries:
            connection.execute(insert(orm.audit_log), entries)
            last = entries[-1]
            head = orm.audit_chain_head
            moved = connection.execute(update(head).where(head.c.id == HEAD_ID)
                                       .values(seq=last["seq"], hash=last["hash"]))
            if moved.rowcount == 0:  # a fresh engine's migration writes the genesis head; older ones not
                connection.execute(insert(head).values(id=HEAD_ID, seq=last["seq"], hash=last["hash"]))

    # -- CSV import -------------------------------------------------------------------------------
    def prescriber_id_by_npi(self, npi: str) -> str | None:
        found = self._uow.session.execute(
            select(orm.prescribers.c.id).where(orm.prescribers.c.npi == npi)).first()
        return None if found is None else str(found[0])
