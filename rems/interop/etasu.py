"""The ETASU answer every wire format shares (R1-R33): the gate's decision for one case or patient.

Read-only. Scoped to the caller: a prescriber sees their own patients and prescriptions; a pharmacy
sees a case by its authorization number (as the pharmacy check of the HTTP API does), and a patient
only while that patient has an open authorization. Anything else answers like an unknown record,
with `refused` set so that the API layer audits the attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from rems.adapters.uow import UnitOfWork
from rems.domain import gate
from rems.domain.catalogue import (
    OPEN_PRESCRIPTION_STATES,
    R19_NOT_AUTHORIZED,
    R24_REFILLS_NOT_ALLOWED,
    R24_SUPPLY_TOO_LONG,
    R25_PHARMACY_NOT_CERTIFIED,
    R29_COUNSELLING_INCOMPLETE,
    STAGE_OF_STATE,
)
from rems.domain.errors import NotFound
from rems.domain.model import Patient, Pharmacy, Prescription
from rems.domain.requirements import Requirement, need
from rems.services.context import Context
from rems.services.dispensing.records import load_records
from workflows.program import Program

Outcome = Literal["success", "data-required", "failure"]
OPEN = OPEN_PRESCRIPTION_STATES
_STAGE_OF = STAGE_OF_STATE
NOT_AUTHORIZED = need(False, "R19", R19_NOT_AUTHORIZED, "an authorization number for this prescription",
                      "the prescriber writes the prescription, completes the prescriber survey and "
                      "obtains an authorization number")


def not_authorized(program: Program, now: datetime) -> Requirement:
    """R19: no authorization yet, named by the program's own id for its authorization requirement
    (issue 17) when it declares one."""
    spec = next((s for s in program.requirements_on(now) if s.kind == "authorization"), None)
    return replace(NOT_AUTHORIZED, rule=spec.rule_of("R19") if spec else "R19",
                   fda_code=spec.fda_code if spec else None)


@dataclass(frozen=True)
class Caller:
    role: str  # "prescriber" | "pharmacy"
    actor_id: str


@dataclass(frozen=True)
class Case:
    """A snapshot of the authorization (plain values: the answer outlives the unit of work)."""

    prescription_id: str
    number: str | None
    state: str
    authorized_at: datetime | None
    expires_at: datetime | None


@dataclass(frozen=True)
class Etasu:
    outcome: Outcome
    requirements: tuple[Requirement, ...] = ()
    patient_id: str | None = None
    program: Program | None = None
    case: Case | None = None
    reason: str = ""  # why the answer is a failure
    refused: bool = False  # the record exists but is not the caller's: audit the attempt
    unknown: Literal["case", "patient", "program", ""] = ""  # what a failure could not find

    @property
    def case_number(self) -> str | None:
        return self.case.number if self.case else None

    @property
    def unmet(self) -> tuple[Requirement, ...]:
        return tuple(r for r in self.requirements if not r.met)


def unknown(reason: str, refused: bool = False,
            what: Literal["case", "patient", "program"] = "patient") -> Etasu:
    return Etasu("failure", reason=reason, refused=refused, unknown=what)


def _answer(requirements: Sequence[Requirement], patient: Patient, program: Program,
            rx: Prescription | None) -> Etasu:
    reqs = tuple(requirements)
    outcome: Outcome = "success" if all(r.met for r in reqs) else "data-required"
    case = Case(rx.id, rx.number, rx.state, rx.authorized_at, rx.expires_at) if rx else None
    return Etasu(outcome, reqs, patient.id, program, case)


def evaluate_prescription(uow: UnitOfWork, ctx: Context, caller: Caller, rx: Prescription,
                          patient: Patient) -> Etasu:
    """What stands between this authorization and a dispense now, from the caller's side."""
    program = uow.program(rx.program_id)
    stage = _STAGE_OF.get(rx.state, "confirm")  # terminal states: the confirm gate names R23/R33
    live = uow.confirmations.live(rx.id) if stage == "dispense" else None
    pharmacy: Pharmacy | None = None
    if caller.role == "pharmacy":
        pharmacy = uow.get(Pharmacy, caller.actor_id)
        if live is not None and live.pharmacy_id != pharmacy.id:
            stage, live = "confirm", None  # another pharmacy holds it: R26 says so
    elif live is not None:
        pharmacy = uow.get(Pharmacy, live.pharmacy_id)
    decision = gate.evaluate(stage, load_records(uow, patient, rx, pharmacy, live), program, ctx.now)
    # Counselling (R29) happens at the counter; a prescriber's view has no pharmacy of its own.
    hidden = {R29_COUNSELLING_INCOMPLETE}
    if caller.role == "prescriber" and pharmacy is None:
        hidden |= {R25_PHARMACY_NOT_CERTIFIED}
    reqs = [r for r in decision.requirements if r.code not in hidden]
    if stage == "authorize":
        reqs.append(NOT_AUTHORIZED)
    return _answer(reqs, patient, program, rx)


def for_case(uow: UnitOfWork, ctx: Context, caller: Caller, number: str,
             patient_id: str | None = None) -> Etasu:
    """By case number (our authorization number); with a patient id, the two must agree."""
    try:
        rx = uow.prescriptions.by_number(number)
    except NotFound:
        return unknown(f"unknown case number {number!r}", what="case")
    if caller.role == "prescriber" and rx.prescriber_id != caller.actor_id:
        return unknown(f"unknown case number {number!r}", refused=True, what="case")
    if patient_id is not None and patient_id != rx.patient_id:
        return unknown(f"case {number!r} is not this patient's", refused=True, what="case")
    return evaluate_prescription(uow, ctx, caller, rx, uow.get(Patient, rx.patient_id))


def visible_patient(uow: UnitOfWork, caller: Caller, patient_id: str) -> tuple[Patient | None, bool]:
    """(the patient, refused): None when unknown or, with refused=True, not the caller's."""
    try:
        patient = uow.get(Patient, patient_id)
    except NotFound:
        return None, False
    if caller.role == "prescriber" and patient.prescriber_id == caller.actor_id:
        return patient, False
    if caller.role == "pharmacy" and uow.prescriptions.matching(patient_id=patient.id, states=OPEN[1:]):
        return patient, False
    return None, True


def for_patient(uow: UnitOfWork, ctx: Context, caller: Caller, patient_id: str,
                program: Program) -> Etasu:
    """By REMS patient id and medication: the patient's latest open authorization for the program,
    or, with none, the patient-level gates and the missing authorization (R19)."""
    patient, refused = visible_patient(uow, caller, patient_id)
    if patient is None:
        return unknown(f"no patient with REMS id {patient_id!r}", refused)
    if patient.program_id != program.id:
        return unknown(f"the patient is enrolled in {patient.program_id}, not in {program.id}",
                       what="program")
    states = OPEN if caller.role == "prescriber" else OPEN[1:]
    open_rx = [rx for rx in uow.prescriptions.matching(patient_id=patient.id, states=states)
               if rx.program_id == program.id]
    if open_rx:
        return evaluate_prescription(uow, ctx, caller, open_rx[-1], patient)
    readiness = gate.evaluate("readiness", load_records(uow, patient), program, ctx.now)
    return _answer([*readiness.requirements, not_authorized(program, ctx.now)], patient, program, None)


def for_new_order(uow: UnitOfWork, ctx: Context, caller: Caller, patient_id: str, program: Program,
                  days_supply: int | None, refills: int | None) -> Etasu:
    """Before a prescriber signs an order: the patient-level gates and the order's own R24 limits."""
    patient, refused = visible_patient(uow, caller, patient_id)
    if patient is None:
        return unknown(f"no patient with REMS id {patient_id!r}", refused)
    if patient.program_id != program.id:
        return unknown(f"the patient is enrolled in {patient.program_id}, not in {program.id}",
                       what="program")
    reqs = list(gate.evaluate("readiness", load_records(uow, patient), program, ctx.now).requirements)
    params = program.at(ctx.now)
    supply = next((s for s in program.requirements_on(ctx.now) if s.kind == "supply"), None)
    if supply is None:  # the program limits no supply (issue 17: e.g. information only)
        return _answer(reqs, patient, program, None)
    rule = supply.rule_of("R24")
    if days_supply is not None:
        reqs.append(need(days_supply <= params.max_supply_days, rule, R24_SUPPLY_TOO_LONG,
                         f"at most a {params.max_supply_days}-day supply",
                         f"prescribe {params.max_supply_days} days or fewer"))
    if refills is not None:
        reqs.append(need(refills <= params.max_refills, rule, R24_REFILLS_NOT_ALLOWED,
                         "no refills", "write a new prescription instead of a refill"))
    return _answer(reqs, patient, program, None)
