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
from collections.abc import Collection, Iterable, Mapping
from importlib import metadata
from typing import Any

from rems.adapters.uow import UnitOfWork
from rems.domain.audit_chain import FIELDS
from rems.domain.instants import instant
from rems.services.audit import audit_verify
from rems.services.context import Context
from rems.services.lifecycle import audit
from rems.services.transfer import answers
from rems.services.transfer.format import (
    AUDIT,
    FORMAT,
    FORMAT_VERSION,
    GATE,
    RECORDS,
    Bundle,
    describe,
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


def _entry(row: Any) -> dict[str, Any]:
    return {name: instant(row[name]) if name == "at" else row[name] for name in FIELDS}


def _audit(rows: Iterable[Mapping[Any, Any]], program_id: str, ids: Collection[str], alone: bool) -> list[str]:
    """The whole chain, oldest first; an entry in full when it is about an exported record in this
    program (or everything, when the engine holds this program alone)."""
    lines = []
    for row in rows:
        refs = row["refs"] or {}
        mine = alone or (row["entity_id"] in ids and refs.get("program") in (None, program_id))
        lines.append(line_of({"seq": row["seq"], "prev_hash": row["prev_hash"], "hash": row["hash"],
                              "entry": _entry(row) if mine else None}))
    return lines


def engine_version() -> str:
    try:
        return metadata.version("rems-engine")
    except metadata.PackageNotFoundError:
        return "unknown"


def export_program(uow: UnitOfWork, ctx: Context, program_id: str) -> Bundle:
    """Every record of `program_id`, the chain, and the gate's answer for each open authorization
    at `ctx.now` (the export's instant, which the proof replays at). Read-only."""
    uow.program(program_id)  # NotFound for a program this engine does not load
    uow.transfer.snapshot()
    chain = audit_verify.verify(uow, ctx)  # chains what was committed first, then walks it
    if not chain.ok:
        raise ChainBroken(chain)
    alone = uow.transfer.alone(program_id)
    bundle = Bundle()
    for name, rows in uow.transfer.records(RECORDS, program_id, alone):
        bundle.lines[name] = [line_of(row) for row in rows]
    ids = {_id_of(text_line) for name in RECORDS for text_line in bundle.lines[name]} | {program_id}
    bundle.lines[AUDIT] = _audit(uow.audit.in_order(), program_id, ids, alone)
    bundle.lines[GATE] = [line_of(a) for a in answers.answers(uow, program_id, ctx.now)]
    in_full = sum(1 for line in bundle.lines[AUDIT] if not line.endswith('"entry":null}'))
    bundle.manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "program_id": program_id,
        "engine_version": engine_version(), "exported_at": instant(ctx.now), "exported_by": ctx.actor,
        "chain": {"scope": "whole" if alone else "segment", "head": chain.head.as_dict(),
                  "entries": chain.entries, "entries_in_full": in_full},
        "counts": {name: len(lines) for name, lines in bundle.lines.items()},
        "persons_enrolled_elsewhere": uow.transfer.enrolled_elsewhere(program_id) if not alone else 0,
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
