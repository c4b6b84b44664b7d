"""Export one program's whole state (issue 17 item 8; the format: format.py, docs/export-import.md).

One snapshot: every read of the export runs in one read-only transaction (REPEATABLE READ on
PostgreSQL, one deferred read transaction on SQLite), after the audit entries committed so far are
chained. The audit chain is global to the engine, so it is exported whole: in full when the engine
holds this program alone, otherwise with the entries of other records reduced to (seq, prev_hash,
hash), which keeps every link checkable without showing them. API tokens (secrets and hashes),
idempotency keys, the reminder outbox and contact data are never exported.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from importlib import metadata
from typing import Any

from sqlalchemy import Connection, func, select, text, union

from rems.adapters import orm
from rems.adapters.uow import UnitOfWork
from rems.services.audit import audit_verify
from rems.services.audit.audit_chain import FIELDS
from rems.services.context import Context
from rems.services.lifecycle import audit
from rems.services.transfer import answers
from rems.services.transfer.format import (
    AUDIT,
    FORMAT,
    FORMAT_VERSION,
    GATE,
    TABLES,
    Bundle,
    describe,
    encode_row,
    instant,
    line_of,
    sha256,
)

NOT_EXPORTED = ("api_tokens (neither secrets nor their hashes)", "idempotency_keys", "notifications",
                "notification_contacts (contact data)", "audit_pending (chained before the export)",
                "anonymous_refusals", "cds_jwt_ids")


class ChainBroken(Exception):
    """The source's audit chain does not verify: there is nothing worth proving a copy against."""

    def __init__(self, verification: audit_verify.Verification) -> None:
        super().__init__("the audit chain does not verify; run `rems audit verify`")
        self.verification = verification


def _alone(connection: Connection, program_id: str) -> bool:
    """Does the engine hold records of this program only?"""
    for table in (orm.patients, orm.certifications, orm.readmission_decisions, orm.prescriptions):
        other = select(func.count()).select_from(table).where(table.c.program_id != program_id)
        if connection.execute(other).scalar():
            return False
    return True


def _selection(program_id: str, alone: bool) -> dict[str, Any]:
    """The rows' WHERE clause per file: the program's records and the actors and persons they name
    (subqueries, never lists of ids: a program's size is not bounded by a statement's parameters)."""
    if alone:
        return {name: None for name in TABLES}
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
    # Every other file by the first of these columns it has: a table added to TABLES (e.g. another
    # lane's record of a patient) is selected without more code.
    for name, table in TABLES.items():
        if name not in chosen:
            chosen[name] = (table.c.patient_id.in_(patients) if "patient_id" in table.c
                            else table.c.prescription_id.in_(rxs) if "prescription_id" in table.c
                            else table.c.program_id == program_id)
    return chosen


def _rows(connection: Connection, name: str, where: Any) -> list[str]:
    table = TABLES[name]
    query = select(table).order_by(table.c.id)
    if where is not None:
        query = query.where(where)
    return [line_of(encode_row(table, row)) for row in connection.execute(query).mappings()]


def _entry(row: Any) -> dict[str, Any]:
    return {name: instant(row[name]) if name == "at" else row[name] for name in FIELDS}


def _audit(connection: Connection, program_id: str, ids: Collection[str], alone: bool) -> list[str]:
    """The whole chain, oldest first; an entry in full when it is about an exported record in this
    program (or everything, when the engine holds this program alone)."""
    t = orm.audit_log.c
    lines = []
    for row in connection.execute(select(orm.audit_log).order_by(t.seq)).mappings():
        refs = row["refs"] or {}
        mine = alone or (row["entity_id"] in ids and refs.get("program") in (None, program_id))
        lines.append(line_of({"seq": row["seq"], "prev_hash": row["prev_hash"], "hash": row["hash"],
                              "entry": _entry(row) if mine else None}))
    return lines


def _snapshot(uow: UnitOfWork) -> Connection:
    connection = uow.connection()
    if connection.dialect.name == "postgresql":  # every statement below reads the same snapshot
        connection.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
    return connection


def engine_version() -> str:
    try:
        return metadata.version("rems-engine")
    except metadata.PackageNotFoundError:
        return "unknown"


def export_program(uow: UnitOfWork, ctx: Context, program_id: str) -> Bundle:
    """Every record of `program_id`, the chain, and the gate's answer for each open authorization
    at `ctx.now` (the export's instant, which the proof replays at). Read-only."""
    uow.program(program_id)  # NotFound for a program this engine does not load
    connection = _snapshot(uow)
    chain = audit_verify.verify(uow, ctx)  # chains what was committed first, then walks it
    if not chain.ok:
        raise ChainBroken(chain)
    alone = _alone(connection, program_id)
    bundle = Bundle()
    selection = _selection(program_id, alone)
    for name in TABLES:
        bundle.lines[name] = _rows(connection, name, selection[name])
    ids = {_id_of(text_line) for name in TABLES for text_line in bundle.lines[name]} | {program_id}
    bundle.lines[AUDIT] = _audit(connection, program_id, ids, alone)
    bundle.lines[GATE] = [line_of(a) for a in answers.answers(uow, program_id, ctx.now)]
    in_full = sum(1 for line in bundle.lines[AUDIT] if not line.endswith('"entry":null}'))
    bundle.manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "program_id": program_id,
        "engine_version": engine_version(), "exported_at": instant(ctx.now), "exported_by": ctx.actor,
        "chain": {"scope": "whole" if alone else "segment", "head": chain.head.as_dict(),
                  "entries": chain.entries, "entries_in_full": in_full},
        "counts": {name: len(lines) for name, lines in bundle.lines.items()},
        "persons_enrolled_elsewhere": _elsewhere(connection, program_id) if not alone else 0,
        "not_exported": list(NOT_EXPORTED), "files": {}}
    bundle.manifest["files"] = describe(bundle)
    return bundle


def files_digest(bundle: Bundle) -> str:
    """One SHA-256 over the manifest's `files` (every file's hashes): what the export's entry keeps."""
    return sha256(json.dumps(bundle.manifest["files"], sort_keys=True, separators=(",", ":")).encode("ascii"))


def record_export(uow: UnitOfWork, ctx: Context, program_id: str, files_sha256: str, head_seq: int) -> None:
    """After the files are written: the export itself is audited on the source's chain, with the
    digest of its files, so the source can later show which export it wrote (docs/export-import.md)."""
    audit(uow, ctx, "program", program_id, "export", None, None,
          refs={"program": program_id, "files_sha256": files_sha256, "head_seq": str(head_seq)})
    uow.commit()


def _id_of(line: str) -> str:
    return str(json.loads(line)["id"])


def _elsewhere(connection: Connection, program_id: str) -> int:
    """R34: persons of this program enrolled in another one too (their history there is not
    exported, so the copy's gate may read less of it: the proof says so if it matters)."""
    pt = orm.patients
    other = pt.alias("other")
    query = (select(func.count(func.distinct(pt.c.person_id)))
             .select_from(pt.join(other, other.c.person_id == pt.c.person_id))
             .where(pt.c.program_id == program_id, other.c.program_id != program_id))
    return int(connection.execute(query).scalar() or 0)

