"""Import an export into an EMPTY engine, all or nothing, in one transaction (issue 17 item 8).

Every file is checked against the manifest first (format.read), then the chain segment
(chain.check), then every row is decoded; only then is anything written. Records keep their ids,
states and versions. The audit chain: a whole chain (the source held this program alone) is copied
verbatim, sequence numbers and hashes included, so the copy's chain holds the source's head; a
segment's entries in full are chained again in their order, with their content unchanged. Either
way one more entry records the import itself, with the source's head and the manifest's SHA-256.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rems.adapters.uow import UnitOfWork
from rems.domain.audit_chain import FIELDS
from rems.domain.errors import Conflict, InvalidInput
from rems.domain.model import AuditEntry
from rems.services.audit.audit_verify import Head
from rems.services.context import Context
from rems.services.transfer import chain
from rems.services.transfer.format import AUDIT, RECORDS, Bundle, sha256

# What an engine holds that makes it not empty: its records, its chain, its tokens.
_CHECKED: tuple[str, ...] = (*RECORDS, "audit_log", "audit_pending", "api_tokens")


class NotEmpty(Conflict):
    """An import goes into an empty engine only: merging two programs' histories is not a copy."""


@dataclass(frozen=True)
class Imported:
    program_id: str
    counts: dict[str, int]
    chain_scope: str  # "whole": copied verbatim; "segment": the program's entries chained again
    source_head: Head


def refuse_if_not_empty(uow: UnitOfWork) -> None:
    for name in _CHECKED:
        if uow.transfer.count(name):
            raise NotEmpty(f"the engine is not empty ({name} has rows): import a program only "
                           "into an empty engine (a new database after `rems init`)")


def _decoded(uow: UnitOfWork, bundle: Bundle) -> dict[str, list[dict[str, Any]]]:
    return {name: uow.transfer.decoded(name, bundle.records(name)) for name in RECORDS}


def import_program(uow: UnitOfWork, ctx: Context, bundle: Bundle) -> Imported:
    program_id = str(bundle.manifest.get("program_id"))
    uow.program(program_id)  # NotFound: the engine must load the program's file to gate it
    segment = chain.check(bundle)
    rows = _decoded(uow, bundle)
    refuse_if_not_empty(uow)
    for name, values in rows.items():
        if values and not uow.transfer.insert(name, values):
            # rolled back whole by the unit of work; no value is echoed
            raise InvalidInput(f"{name}.ndjson", "a row repeats a key or refers to a record the "
                                                 "export does not hold: nothing was imported")
    if segment.whole:
        _copy_chain(uow, bundle)
    else:
        for _seq, content in segment.in_full:
            uow.stage_audit(chain.as_entry(content))
    manifest_sha = sha256(json.dumps(bundle.manifest, sort_keys=True, separators=(",", ":")).encode("utf-8"))
    uow.stage_audit(AuditEntry(
        at=ctx.now, actor=ctx.actor, entity="program", entity_id=program_id, trigger="import",
        from_state=None, to_state=None, request_id=ctx.request_id,
        refs={"program": program_id, "source_head_seq": str(segment.head.seq),
              "source_head_hash": segment.head.hash, "manifest_sha256": manifest_sha}))
    uow.commit()
    return Imported(program_id, {name: len(values) for name, values in rows.items()},
                    "whole" if segment.whole else "segment", segment.head)


def _copy_chain(uow: UnitOfWork, bundle: Bundle) -> None:
    entries = []
    for _number, line in bundle.records(AUDIT):
        entry = chain.as_entry(line["entry"])
        entries.append({**{name: getattr(entry, name) for name in FIELDS},
                        "seq": line["seq"], "prev_hash": line["prev_hash"], "hash": line["hash"]})
    uow.transfer.copy_chain(entries)
