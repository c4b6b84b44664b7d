"""The exported chain segment, checked on its own (issue 17 item 8): every line links to the one
before it from the genesis hash, each entry exported in full hashes to its recorded hash, and the
last line is the manifest's head. Entries reduced to their hashes are linked, not re-hashed: the
segment proves the exported entries were those the source chain held at their places, up to
its head; checking that head against one kept elsewhere (`rems audit head`) proves the source
chain was not rewritten before the export.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rems.domain.audit_chain import FIELDS, GENESIS, entry_hash
from rems.domain.errors import InvalidInput
from rems.domain.instants import instant, parse_instant
from rems.domain.model import AuditEntry
from rems.services.audit.audit_verify import Head
from rems.services.transfer.format import AUDIT, Bundle

FILE = f"{AUDIT}.ndjson"


@dataclass(frozen=True)
class Segment:
    head: Head
    entries: int
    in_full: tuple[tuple[int, dict[str, Any]], ...]  # (source seq, content without seq)

    @property
    def whole(self) -> bool:
        return len(self.in_full) == self.entries


def _content(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict) or set(data) != set(FIELDS):
        raise InvalidInput(where, f"entry must hold exactly {', '.join(FIELDS)}")
    return dict(data)


def check(bundle: Bundle) -> Segment:
    """The segment's links and hashes, or InvalidInput naming the first line that breaks them."""
    last, in_full, count = Head(0, GENESIS), [], 0
    for number, line in bundle.records(AUDIT):
        where = f"{FILE}:{number}"
        if not isinstance(line, dict):
            raise InvalidInput(where, "each line must be a JSON object")
        seq, prev, digest, entry = line.get("seq"), line.get("prev_hash"), line.get("hash"), line.get("entry")
        if seq != last.seq + 1:
            raise InvalidInput(f"{where}.seq", f"expected {last.seq + 1}: entries were removed or inserted")
        if prev != last.hash:
            raise InvalidInput(f"{where}.prev_hash", "does not link to the entry before it")
        if not isinstance(digest, str) or len(digest) != 64:
            raise InvalidInput(f"{where}.hash", "must be a SHA-256 in hex")
        if entry is not None:
            content = _content(entry, f"{where}.entry")
            if entry_hash(prev, {**content, "seq": seq}) != digest:
                raise InvalidInput(f"{where}.entry", "its content does not match its hash: it was altered")
            in_full.append((seq, {k: v for k, v in content.items() if k != "seq"}))
        last, count = Head(seq, digest), count + 1
    head = Head.parse(bundle.manifest.get("chain", {}).get("head"))
    if head != last:
        raise InvalidInput(f"{FILE}", f"the segment ends at {last.seq}, the manifest's head is {head.seq}")
    return Segment(last, count, tuple(in_full))


def as_entry(content: dict[str, Any]) -> AuditEntry:
    """An exported entry's content as an entry to chain again (same content, a new place)."""
    at: datetime = parse_instant(str(content["at"]))
    return AuditEntry(at=at, actor=content["actor"], entity=content["entity"],
                      entity_id=content["entity_id"], trigger=content["trigger"],
                      from_state=content["from_state"], to_state=content["to_state"],
                      reasons=content["reasons"], request_id=content["request_id"], refs=content["refs"])


def entry_content(row: Any) -> dict[str, Any]:
    """A stored entry's content as exported (without its sequence), to compare with the export."""
    return {name: (instant(row["at"]) if name == "at" else row[name])
            for name in FIELDS if name != "seq"}
