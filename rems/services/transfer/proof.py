"""The proof of a copy (issue 17 item 8): on the engine that received an import, (1) the export's
chain segment verifies, (2) the engine's own chain verifies, and holds the source's head when the
chain was copied whole, or else holds every exported entry, in order, with its content unchanged,
(3) every table holds as many rows as the export, and (4) the gate, asked at the export's instant,
answers every open authorization exactly as the source answered at that instant (the same
authorizations open, the same decision with every requirement, met or not).

What it does not prove: that the source engine's records outside the chain (e.g. a PPAF row)
were never edited behind the engine's back before the export, nor, for a person also enrolled in
another program, that history there (R34) is the same: that history is not exported, and a gate
answer that depended on it differs here and is reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from rems.adapters.uow import UnitOfWork
from rems.domain.instants import parse_instant
from rems.domain.model import Prescription
from rems.services.audit import audit_verify
from rems.services.context import Context
from rems.services.transfer import answers, chain
from rems.services.transfer.format import GATE, RECORDS, Bundle


@dataclass
class Proof:
    chain: dict[str, Any]
    entries_matched: int = 0
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # the tables that differ
    gate_checked: int = 0
    gate_differences: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "problems": self.problems, "chain": self.chain,
                "entries_matched": self.entries_matched, "count_differences": self.counts,
                "gate_checked": self.gate_checked, "gate_differences": self.gate_differences}


def _normal(data: Any) -> Any:
    return json.loads(json.dumps(data, default=str))


def _entries_held(uow: UnitOfWork, segment: chain.Segment, proof: Proof) -> None:
    """Segment mode: the copy's chain holds the exported entries in order, content unchanged."""
    held = [_normal(chain.entry_content(row)) for row in uow.audit.in_order()]
    wanted = [_normal(content) for _seq, content in segment.in_full]
    position = 0
    for entry in held:
        if position < len(wanted) and entry == wanted[position]:
            position += 1
    proof.entries_matched = position
    if position < len(wanted):
        seq = segment.in_full[position][0]
        proof.problems.append(f"the exported audit entry {seq} (source sequence) is not in this "
                              "engine's chain in its place")


def _counts(uow: UnitOfWork, bundle: Bundle, proof: Proof) -> None:
    for name in RECORDS:
        held = uow.transfer.count(name)
        exported = len(bundle.lines.get(name, []))
        if held != exported:
            proof.counts[name] = {"exported": exported, "held": held}
            proof.problems.append(f"{name}: {held} rows here, {exported} exported")


def _gate(uow: UnitOfWork, bundle: Bundle, proof: Proof) -> None:
    at = parse_instant(str(bundle.manifest["exported_at"]))
    recorded = {line["prescription_id"]: line for _n, line in bundle.records(GATE)}
    program_id = str(bundle.manifest["program_id"])
    open_here = {rx.id: rx for rx in answers.open_prescriptions(uow, program_id)}
    for rx_id in sorted(set(recorded) | set(open_here)):
        proof.gate_checked += 1
        before = recorded.get(rx_id)
        rx: Prescription | None = open_here.get(rx_id)
        now = _normal(answers.answer(uow, rx, at)) if rx is not None else None
        if before is None or now is None or before["decision"] != now["decision"] \
                or before["stage"] != now["stage"]:
            proof.gate_differences.append({"prescription_id": rx_id, "exported": before, "here": now})
    if proof.gate_differences:
        proof.problems.append(f"the gate answers {len(proof.gate_differences)} open authorization(s) "
                              "differently from the export")


def prove(uow: UnitOfWork, ctx: Context, bundle: Bundle) -> Proof:
    """Check this engine against an export it received (read-only)."""
    segment = chain.check(bundle)
    anchor = segment.head if segment.whole else None
    verification = audit_verify.verify(uow, ctx, anchor)
    proof = Proof({"source_head": segment.head.as_dict(), "scope": "whole" if segment.whole else "segment",
                   "copy": verification.as_dict()})
    if not verification.ok:
        proof.problems.append("this engine's audit chain does not verify"
                              + (" or does not hold the source's head" if anchor else ""))
    if segment.whole:
        proof.entries_matched = segment.entries if verification.ok else 0
    else:
        _entries_held(uow, segment, proof)
    _counts(uow, bundle, proof)
    _gate(uow, bundle, proof)
    return proof

