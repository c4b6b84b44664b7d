"""Walk the audit chain and report the first entry altered, inserted or removed (issue 6).

A head (sequence, hash) exported earlier anchors the chain: if it is no longer in the chain, the
chain was rewritten from that point on, even if every link of the rewritten chain holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from rems.domain.audit_chain import GENESIS, entry_hash
from rems.domain.errors import InvalidInput
from rems.services.context import Context
from rems.services.ports import UnitOfWork


@dataclass(frozen=True)
class Head:
    """An entry's place in the chain: export it, keep it elsewhere, check against it later."""

    seq: int
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def parse(cls, data: Any) -> Head:
        """A head from its exported JSON; anything else is InvalidInput naming the field."""
        if not isinstance(data, dict):
            raise InvalidInput("head", "must be a JSON object with seq and hash")
        seq, digest = data.get("seq"), data.get("hash")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise InvalidInput("head.seq", "must be a non-negative integer")
        if not isinstance(digest, str) or len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise InvalidInput("head.hash", "must be 64 lowercase hex digits (SHA-256)")
        return cls(seq, digest)


@dataclass(frozen=True)
class Finding:
    kind: str  # "altered" | "inserted" | "removed" | "rewritten"
    seq: int | None  # where in the chain
    entry_id: int | None  # the audit_log row concerned, when there is one
    detail: str


@dataclass(frozen=True)
class Verification:
    entries: int  # entries checked
    head: Head  # the last entry that verified
    finding: Finding | None  # the first problem, if any

    @property
    def ok(self) -> bool:
        return self.finding is None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "head": self.head.as_dict(),
                "finding": asdict(self.finding) if self.finding else None}


def _stored_head(uow: UnitOfWork) -> Head | None:
    found = uow.audit.head()
    return Head(*found) if found else None


def _walk(uow: UnitOfWork, anchor: Head | None) -> tuple[int, Head, int | None, Finding | None]:
    """One statement, so one snapshot, ordered by sequence: (count, last good, its id, finding)."""
    with uow.audit.walk() as rows:  # closed on an early return (a server-side cursor)
        return _links(rows, anchor)


def _links(rows: Iterable[Mapping[Any, Any]], anchor: Head | None) -> tuple[int, Head, int | None, Finding | None]:
    count, last, last_id = 0, Head(0, GENESIS), None
    for row in rows:
        seq, entry_id = row["seq"], row["id"]
        if seq is None or not row["hash"] or not row["prev_hash"]:
            return count, last, last_id, Finding("inserted", seq, entry_id,
                                                 "this entry is not part of the chain (no sequence or hash)")
        if seq <= last.seq:
            return count, last, last_id, Finding("inserted", seq, entry_id,
                                                 f"a second entry claims sequence {seq}")
        if seq > last.seq + 1:
            return count, last, last_id, Finding(
                "removed", last.seq + 1, entry_id,
                f"entries {last.seq + 1}..{seq - 1} are missing before entry id {entry_id}")
        if entry_hash(row["prev_hash"], dict(row)) != row["hash"]:
            return count, last, last_id, Finding("altered", seq, entry_id,
                                                 "the entry's content no longer matches its hash")
        if row["prev_hash"] != last.hash:
            return count, last, last_id, Finding(
                "altered", last.seq, last_id,
                f"its hash is not the one entry {seq} recorded: it was changed and re-hashed")
        if anchor is not None and seq == anchor.seq and row["hash"] != anchor.hash:
            return count, last, last_id, Finding(
                "rewritten", seq, entry_id, "the exported head is not in the chain: the chain was "
                                            "rewritten from this entry on")
        count, last, last_id = count + 1, Head(seq, row["hash"]), entry_id
    return count, last, last_id, None


def _seal_first(uow: UnitOfWork) -> None:
    """Issue 14 item 3: chain what writers committed so far, so the walk covers all of it."""
    uow.audit.seal_committed()  # a removed head, a forged sequence: the walk below reports where


def verify(uow: UnitOfWork, ctx: Context, anchor: Head | None = None) -> Verification:
    """Check every link, the stored head, and the exported `anchor` if given; the first problem."""
    _seal_first(uow)
    before = _stored_head(uow)
    count, last, last_id, finding = _walk(uow, anchor)
    after = _stored_head(uow)  # entries committed during the walk moved it; none can be missing
    if finding is None:
        finding = _against_heads(last, last_id, before, after, anchor)
    return Verification(count, last, finding)


def _against_heads(last: Head, last_id: int | None, before: Head | None, after: Head | None,
                   anchor: Head | None) -> Finding | None:
    if before is None or after is None:
        return Finding("removed", None, None, "the chain head record is missing")
    if last.seq < before.seq:
        return Finding("removed", last.seq + 1, None,
                       f"the chain ends at {last.seq} but its head records {before.seq}: the newest "
                       "entries were removed")
    if last.seq > after.seq:
        return Finding("inserted", after.seq + 1, None,
                       f"entries after the chain head ({after.seq}) were added outside the engine")
    for head in (before, after):
        if last.seq == head.seq and last.hash != head.hash:
            return Finding("altered", last.seq, last_id,
                           "the newest entry's hash is not the one the chain head records")
    if anchor is not None and anchor.seq > last.seq:
        return Finding("rewritten", anchor.seq, None,
                       f"the exported head ({anchor.seq}) is beyond the chain's end ({last.seq})")
    return None


def head(uow: UnitOfWork, ctx: Context) -> Verification:
    """The head to export: only a chain that verifies has one worth keeping."""
    return verify(uow, ctx)
