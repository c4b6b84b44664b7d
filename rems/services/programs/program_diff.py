"""A program version before it takes effect (issue 17 item 6): today's patients under the version
in force and under the candidate on its date, patient by patient.

`now` is the caller's (the entry point's clock); the candidate is a parsed program file with the
same id. Nothing is written: this is a read for the administrator before cut-over."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from rems.domain import gate
from rems.domain.catalogue import (
    ISSUED_PRESCRIPTION_STATES,
    LIVE_PATIENT_STATES,
    R25_PHARMACY_NOT_CERTIFIED,
    R26_CONFIRMATION_INVALID,
    R29_COUNSELLING_INCOMPLETE,
    STAGE_OF_STATE,
    PatientState,
)
from rems.domain.errors import InvalidInput
from rems.domain.model import Patient, Pharmacy
from rems.domain.requirements import Decision
from rems.services.context import Context
from rems.services.dispensing.records import load_records
from rems.services.ports import UnitOfWork
from workflows.program import Program, change_dates

# The stage an open authorization meets next (the pharmacy's check), as the status page reads it.
NEXT_STAGE: dict[str, str] = {s: STAGE_OF_STATE[s] for s in ISSUED_PRESCRIPTION_STATES}
_LIVE = (*LIVE_PATIENT_STATES, PatientState.PENDING)


@dataclass(frozen=True)
class Change:
    """What changes for one patient's readiness, or one open authorization, on the date."""

    patient_id: str
    subject: str  # "readiness" or the prescription's number
    stage: str
    outcome: str  # "refused on the date" | "freed on the date" | "requirements change" | "unchanged"
    added: tuple[str, ...]  # requirement codes the candidate checks that today's version does not
    removed: tuple[str, ...]
    newly_failing: tuple[str, ...]
    no_longer_failing: tuple[str, ...]
    on: date | None = None  # the candidate's date compared

    def as_dict(self) -> dict[str, object]:
        return {"on": self.on.isoformat() if self.on else None, "patient_id": self.patient_id, "subject": self.subject, "stage": self.stage,
                "outcome": self.outcome, "added": list(self.added), "removed": list(self.removed),
                "newly_failing": list(self.newly_failing), "no_longer_failing": list(self.no_longer_failing)}


def first_change(current: Program, candidate: Program, today: date) -> date | None:
    """The first date after `today` on which the candidate's parameters or requirements change."""
    return next((d for d in change_dates(candidate) if d > today), None)


# What the pharmacy brings to the counter (its certification, confirmation, counselling) is not
# the patient's to change: an open authorization is compared without it, as the status page does.
AT_THE_COUNTER = {"confirm": {R25_PHARMACY_NOT_CERTIFIED, R26_CONFIRMATION_INVALID, R29_COUNSELLING_INCOMPLETE},
                  "dispense": {R29_COUNSELLING_INCOMPLETE}, "readiness": set()}


def _compare(patient_id: str, subject: str, stage: str, now_: Decision, then: Decision) -> Change:
    codes_now = {r.code for r in now_.requirements}
    codes_then = {r.code for r in then.requirements}
    hidden = AT_THE_COUNTER[stage]
    fail_now = {r.code for r in now_.failures} - hidden
    fail_then = {r.code for r in then.failures} - hidden
    if not fail_now and fail_then:
        outcome = "refused on the date"
    elif fail_now and not fail_then:
        outcome = "freed on the date"
    elif codes_now != codes_then or fail_now != fail_then:
        outcome = "requirements change"
    else:
        outcome = "unchanged"
    return Change(patient_id, subject, stage, outcome, tuple(sorted(codes_then - codes_now)),
                  tuple(sorted(codes_now - codes_then)), tuple(sorted(fail_then - fail_now)),
                  tuple(sorted(fail_now - fail_then)))


def diff_program(uow: UnitOfWork, ctx: Context, candidate: Program, on: date | None = None) -> list[Change]:
    """Every live patient of the candidate's program: readiness, and each open authorization at
    its next stage, today under the version in force and under the candidate as of `on` (default:
    the candidate's first change after today)."""
    if candidate.id not in uow.programs:
        raise InvalidInput("id", f"no program {candidate.id!r} runs here: a diff compares a new version "
                                 "of a running program")
    current = uow.program(candidate.id)
    today = current.day_of(ctx.now)
    on = on or first_change(current, candidate, today)
    if on is None:
        raise InvalidInput("on", "the candidate changes nothing after today: name the date to compare (--on)")
    changes: list[Change] = []
    for patient in uow.patients.in_program(candidate.id, _LIVE):
        records = load_records(uow, patient)
        changes.append(_compare(patient.id, "readiness", "readiness",
                                gate.evaluate("readiness", records, current, ctx.now),
                                gate.evaluate("readiness", records, candidate, ctx.now, version_on=on)))
        changes += _open_authorizations(uow, ctx, patient, current, candidate, on)
    return [replace(c, on=on) for c in changes]


def _open_authorizations(uow: UnitOfWork, ctx: Context, patient: Patient, current: Program,
                         candidate: Program, on: date) -> list[Change]:
    every = uow.prescriptions.matching(patient_id=patient.id)
    found = []
    for rx in every:
        stage = NEXT_STAGE.get(rx.state)
        if stage is None:
            continue
        live = uow.confirmations.live(rx.id)
        pharmacy = uow.get(Pharmacy, live.pharmacy_id) if live else None
        records = replace(load_records(uow, patient, rx, pharmacy, live), other_prescriptions=every)
        found.append(_compare(patient.id, rx.number or rx.id, stage,
                              gate.evaluate(stage, records, current, ctx.now),
                              gate.evaluate(stage, records, candidate, ctx.now, version_on=on)))
    return found
