"""NCPDP SCRIPT REMS transactions on top of the gate (R1, R5, R9-R11, R23, R25-R30, R33).

REMSInitiationRequest → Open/Closed; REMSRequest → Approved (authorization number and R23 period)
or Denied (reason codes and a note naming every unmet requirement). A pharmacy's approved
REMSRequest is its confirmation (R26: obtained through the confirmation service, all gates);
RxFill then records the dispense through the dispense service (R27, R29, R33).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from rems.adapters.uow import UnitOfWork
from rems.domain import gate
from rems.domain.catalogue import (
    R5_NOT_THE_PATIENTS_PRESCRIBER,
    R5_PATIENT_NOT_ENROLLED,
    R26_CONFIRMATION_INVALID,
    R33_ALREADY_DISPENSED,
    PrescriptionState,
)
from rems.domain.errors import InvalidInput, NotFound, Refused
from rems.domain.model import Pharmacy, Prescriber
from rems.domain.requirements import Requirement, need
from rems.interop import codes, etasu, lookup
from rems.interop.etasu import Caller, Etasu
from rems.interop.ncpdp_xml import Approval, Counselling, Message
from rems.services.commands import PharmacyRequest, RecordDispense, parse
from rems.services.context import Context
from rems.services.dispensing import prescriptions
from rems.services.dispensing.records import load_records
from workflows.program import Program


class SenderMismatch(ValueError):
    """The message names a pharmacy or prescriber other than the token's actor."""


@dataclass(frozen=True)
class Reply:
    reasons: tuple[str, ...]  # NCPDP reason codes; empty = Open / Approved
    note: str
    approval: Approval | None = None
    case_number: str | None = None
    refused: str | None = None  # another actor's record: audit it


def reasons_of(unmet: Sequence[Requirement]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(codes.ncpdp_reason(r.rule, r.code) for r in unmet))


def note_of(unmet: Sequence[Requirement]) -> str:
    return "; ".join(f"{r.rule} {r.code}: {r.remedy or r.message}" for r in unmet)


def _program(uow: UnitOfWork, m: Message, now: datetime) -> Program | None:
    found = [codes.program_for_medication(codes.NDC, m.drug.ndc, uow.programs.values(), now) if m.drug.ndc else None,
             codes.program_for_medication(codes.RXNORM, m.drug.rxnorm, uow.programs.values(), now)
             if m.drug.rxnorm else None]
    return next((p for p in found if p is not None), None)


def check_sender(uow: UnitOfWork, caller: Caller, m: Message) -> None:
    """The message speaks for the token's own actor: its NCPDP id or NPI must be the caller's."""
    if caller.role == "pharmacy":
        own = uow.get(Pharmacy, caller.actor_id).ncpdp_id
        if m.ncpdp_id is not None and m.ncpdp_id != own:
            raise SenderMismatch(f"Pharmacy NCPDPID {m.ncpdp_id} is not the sender's ({own})")
    else:
        own = uow.get(Prescriber, caller.actor_id).npi
        if m.npi is not None and m.npi != own:
            raise SenderMismatch(f"Prescriber NPI {m.npi} is not the sender's ({own})")


def _drug_closed(m: Message) -> Reply:
    shown = m.drug.ndc or m.drug.rxnorm
    return Reply((codes.NCPDP_DRUG_NOT_IN_PROGRAM,), f"drug {shown} is in no REMS program run here")


def initiation(uow: UnitOfWork, ctx: Context, caller: Caller, m: Message) -> Reply:
    """Open when patient, prescriber and pharmacy are enrolled and certified; Closed naming who is not."""
    check_sender(uow, caller, m)
    program = _program(uow, m, ctx.now)
    if program is None:
        return _drug_closed(m)
    patient, refused = etasu.visible_patient(uow, caller, m.patient_id or "")
    if patient is None:
        why = f"patient {m.patient_id} is not enrolled (R5)" if caller.role == "prescriber" else \
            f"patient {m.patient_id} is not enrolled, or has no open authorization (R5, R19)"
        return Reply(("PTE",), f"R5 {R5_PATIENT_NOT_ENROLLED}: {why}", refused=why if refused else None)
    if patient.program_id != program.id:
        return Reply((codes.NCPDP_DRUG_NOT_IN_PROGRAM,), f"the patient is enrolled in {patient.program_id}")
    params = program.at(ctx.now)
    records = load_records(uow, patient)
    reqs = [gate.prescriber_requirement(records.prescriber_certification, program.id, params, ctx.now),
            gate.patient_requirements(records, gate.today_of(records, program, ctx.now))[0]]
    if m.npi is not None and m.npi != records.prescriber.npi:
        prescriber = lookup.prescriber_by_npi(uow, m.npi)
        reqs.append(need(False, "R5", R5_NOT_THE_PATIENTS_PRESCRIBER,
                         f"prescriber NPI {m.npi} is the patient's enrolling prescriber",
                         "the prescriber who enrolled the patient prescribes" if prescriber else
                         "the prescriber enrolls and certifies in the REMS (R1)"))
    ncpdp_id = m.ncpdp_id or (uow.get(Pharmacy, caller.actor_id).ncpdp_id if caller.role == "pharmacy" else None)
    if ncpdp_id is not None:
        pharmacy = lookup.pharmacy_by_ncpdp(uow, ncpdp_id)  # R25: certified in THIS program
        certified = uow.certifications.of("pharmacy", pharmacy.id, program.id) if pharmacy else None
        reqs.append(gate.pharmacy_requirement(certified, program.id, params, ctx.now))
    unmet = [r for r in reqs if not r.met]
    if unmet:
        return Reply(reasons_of(unmet), note_of(unmet))
    return Reply((), f"{program.name}: patient {patient.id} is enrolled; request approval with REMSRequest")


def _approval(result: Etasu) -> Approval | None:
    case = result.case
    if case is None or case.number is None or case.authorized_at is None or case.expires_at is None:
        return None
    return Approval(case.number, case.authorized_at, case.expires_at)


def request(uow: UnitOfWork, ctx: Context, caller: Caller, m: Message) -> Reply:
    """The ETASU decision; Denied names every unmet requirement (a missing or positive pregnancy
    test is a laboratory-result denial, LAB). Read-only: see `confirm` for the pharmacy's approval."""
    check_sender(uow, caller, m)
    program = _program(uow, m, ctx.now)
    if program is None:
        return _drug_closed(m)
    if m.case_number is not None:
        result = etasu.for_case(uow, ctx, caller, m.case_number, m.patient_id)
    else:
        result = etasu.for_patient(uow, ctx, caller, m.patient_id or "", program)
    if result.outcome == "failure":
        code = {"case": "AUT", "program": codes.NCPDP_DRUG_NOT_IN_PROGRAM}.get(result.unknown, "PTE")
        return Reply((code,), result.reason, refused=result.reason if result.refused else None)
    if result.program is not None and result.program.id != program.id:
        return Reply((codes.NCPDP_DRUG_NOT_IN_PROGRAM,), f"case {m.case_number} is not for this drug",
                     case_number=result.case_number)
    approval = _approval(result) if result.outcome == "success" else None
    if approval is None:
        unmet = list(result.unmet) or [etasu.NOT_AUTHORIZED]
        return Reply(reasons_of(unmet), note_of(unmet), case_number=result.case_number)
    return Reply((), f"authorized until {approval.end:%Y-%m-%d %H:%M} UTC (R23)", approval,
                 result.case_number)


def approve(uows: Callable[[], UnitOfWork], ctx: Context, caller: Caller, m: Message) -> Reply:
    """REMSRequest: the decision (read-only); a pharmacy's approval is then its confirmation."""
    with uows() as uow:
        reply = request(uow, ctx, caller, m)
    if reply.approval is None or caller.role != "pharmacy":
        return reply
    try:
        return dataclasses.replace(reply, note=f"{reply.note}; {confirm(uows, ctx, caller, reply.approval.number)}")
    except Refused as refused:  # the gate changed between the two transactions
        return Reply(reasons_of(refused.failures), note_of(refused.failures), case_number=reply.case_number)


def confirm(uows: Callable[[], UnitOfWork], ctx: Context, caller: Caller, number: str) -> str:
    """A pharmacy's approval is its confirmation number (R26): the one it holds, or a new one
    (the confirmation service decides again, with every gate, in its own transaction)."""
    with uows() as uow:
        rx = uow.prescriptions.by_number(number)
        live = uow.confirmations.live(rx.id)
        if live is not None and live.pharmacy_id == caller.actor_id and ctx.now <= live.expires_at:
            return f"confirmation {live.number} valid until {live.expires_at:%Y-%m-%d %H:%M} UTC (R26, R27)"
    with uows() as uow:
        confirmation = prescriptions.obtain_confirmation(uow, ctx, parse(
            PharmacyRequest, number=number, pharmacy_id=caller.actor_id))
        return (f"confirmation {confirmation.number} valid until "
                f"{confirmation.expires_at:%Y-%m-%d %H:%M} UTC (R26, R27)")


def fill(uow: UnitOfWork, ctx: Context, caller: Caller, m: Message) -> str:
    """RxFill (Dispensed) records the dispense on this pharmacy's live confirmation; every gate applies.

    Raises NotFound (unknown case, or not this patient's), Refused (a gate), SenderMismatch."""
    check_sender(uow, caller, m)
    if not m.dispensed:
        raise InvalidInput("RxFill/FillStatus", "only Dispensed is recorded here")
    rx = uow.prescriptions.by_number(m.case_number or "")
    if rx.patient_id != m.patient_id:
        raise NotFound("authorization", m.case_number or "")
    if rx.state == PrescriptionState.DISPENSED:
        raise Refused("rxfill", [need(False, "R33", R33_ALREADY_DISPENSED, "authorization is dispensed",
                                      "a new prescription and authorization are needed")])
    live = uow.confirmations.live(rx.id)
    if live is None or live.pharmacy_id != caller.actor_id:
        raise Refused("rxfill", [need(False, "R26", R26_CONFIRMATION_INVALID,
                                      "a confirmation issued to this pharmacy for this authorization",
                                      "send a REMSRequest and dispense only when it is Approved")])
    counselled = m.counselling or Counselling(False, False, False)  # absent: R29 refuses
    dispense = prescriptions.record_dispense(uow, ctx, parse(
        RecordDispense, confirmation_number=live.number, pharmacy_id=caller.actor_id,
        counselled=counselled.counselled, education_checklist_completed=counselled.checklist,
        medication_guide_given=counselled.medication_guide))
    return f"dispense {dispense.id} recorded on authorization {m.case_number}"


