"""Fire a workflow trigger on a record and write its audit row in the same transaction (STYLE 5)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from rems.domain.catalogue import (
    R1_EDUCATION_NOT_REVIEWED,
    R2_ATTESTATION_MISSING,
    R5_PPAF_CATEGORY_MISMATCH,
    R5_PRESCRIBER_NOT_CERTIFIED,
    R6_GUARDIAN_SIGNATURE_MISSING,
    R11_WEEKLY_PHASE_RUNNING,
    R12_NEGATIVE_TEST_NEEDED,
    R23_NOT_EXPIRED,
    R25_AUDITS_NOT_ACCEPTED,
    R25_NOT_DUE,
    R25_REPRESENTATIVE_MISSING,
    R25_STAFF_NOT_TRAINED,
)
from rems.domain.errors import Conflict, Refused
from rems.domain.model import AuditEntry
from rems.domain.requirements import Requirement, need
from rems.services.context import Context
from rems.services.ports import UnitOfWork
from workflows.engine import ConditionsNotMet, InvalidTrigger, fire

# What each machine condition means when it fails: rule id, code, message, remedy.
CONDITIONS: dict[str, tuple[str, str, str, str]] = {
    "attested": ("R2", R2_ATTESTATION_MISSING, "the prescriber's R2 attestation",
                 "the prescriber signs the enrollment attestation"),
    "education_reviewed": ("R1", R1_EDUCATION_NOT_REVIEWED, "REMS education reviewed",
                           "the prescriber reviews the REMS education"),
    "recertification_due": ("R25", R25_NOT_DUE, "recertification interval elapsed",
                            "certification has not lapsed yet"),
    "representative_enrolled": ("R25", R25_REPRESENTATIVE_MISSING,
                                "an authorized representative enrolled the pharmacy",
                                "an authorized representative enrolls the pharmacy"),
    "staff_trained": ("R25", R25_STAFF_NOT_TRAINED, "pharmacy staff trained on the REMS",
                      "train the dispensing staff"),
    "records_and_audits_accepted": ("R25", R25_AUDITS_NOT_ACCEPTED,
                                    "records kept and audits accepted",
                                    "the pharmacy agrees to keep records and accept audits"),
    "prescriber_certified": ("R5", R5_PRESCRIBER_NOT_CERTIFIED,
                             "patients are enrolled by a certified prescriber",
                             "the prescriber is certified first (R1)"),
    "ppaf_matches_category": ("R5", R5_PPAF_CATEGORY_MISMATCH,
                              "the PPAF is for the patient's risk category",
                              "sign a PPAF for the category the patient's facts give"),
    "guardian_signed_if_child": ("R6", R6_GUARDIAN_SIGNATURE_MISSING,
                                 "a parent or guardian signs for a child",
                                 "a parent or guardian signs the PPAF"),
    "negative_test_since_hold": ("R12", R12_NEGATIVE_TEST_NEEDED,
                                 "a negative pregnancy test after the hold began",
                                 "record a new negative pregnancy test"),
    "weekly_phase_elapsed": ("R11", R11_WEEKLY_PHASE_RUNNING, "the weekly testing phase is over",
                             "wait until the weekly phase ends"),
    "past_expiry": ("R23", R23_NOT_EXPIRED, "the record is past its expiry", "nothing to do"),
}


def _reasons(failed: Sequence[str], gate: Sequence[Requirement]) -> list[Requirement]:
    out: list[Requirement] = []
    for name in failed:
        if name == "gate_passes":
            out += list(gate)
        else:
            rule, code, message, remedy = CONDITIONS[name]
            out.append(need(False, rule, code, message, remedy))
    return out


def transition(uow: UnitOfWork, ctx: Context, workflow: str, record: Any, trigger: str,
               facts: Mapping[str, bool] | None = None, gate: Sequence[Requirement] = (),
               attribute: str = "state", entity_id: str | None = None,
               refs: Mapping[str, str] | None = None, notes: Sequence[Requirement] = ()) -> None:
    """Move `record` (its `attribute`) through `trigger`, or raise Refused with every reason.
    The audit row names `entity_id` (default: the record's id) and `refs`, and carries `notes`
    (e.g. the administrator's stated reason) after the gate's reasons; notes never refuse."""
    before = getattr(record, attribute)
    try:
        after = fire(workflow, before, trigger, facts)
    except InvalidTrigger as exc:
        if gate:  # the gate already says why (e.g. R33 already dispensed): say that
            raise Refused(f"{workflow}.{trigger}", list(gate)) from exc
        raise Conflict(f"{workflow} {entity_id or record.id}: cannot {trigger} while {before}") from exc
    except ConditionsNotMet as exc:
        raise Refused(f"{workflow}.{trigger}", _reasons(exc.failed, gate)) from None
    setattr(record, attribute, after)
    audit(uow, ctx, workflow, entity_id or record.id, trigger, before, after, [*gate, *notes], refs)


def audit(uow: UnitOfWork, ctx: Context, entity: str, entity_id: str, trigger: str,
          before: str | None, after: str | None, reasons: Sequence[Requirement] = (),
          refs: Mapping[str, str] | None = None) -> None:
    """One audit entry, written and hash-chained when this unit of work commits (issue 6).

    Ids only: `refs` names related records by id (e.g. the pharmacy of a refused check); names,
    birth dates and contact data never go into an entry."""
    entry = AuditEntry(at=ctx.now, actor=ctx.actor, entity=entity, entity_id=entity_id,
                       trigger=trigger, from_state=before, to_state=after,
                       reasons=[r.as_dict() for r in reasons], request_id=ctx.request_id,
                       refs=dict(refs) if refs else None)
    uow.stage_audit(entry)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(6)}"


def new_number(prefix: str) -> str:
    """An authorization or confirmation number: prefix and 10 random digits."""
    return f"{prefix}-{secrets.randbelow(10**10):010d}"
