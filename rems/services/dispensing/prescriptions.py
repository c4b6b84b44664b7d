"""Authorization, confirmation and dispense use cases (R19, R22-R29, R33)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from rems.domain import gate, schedule
from rems.domain.catalogue import (
    ConfirmationTrigger,
    PregnancyTestingTrigger,
    PrescriptionState,
    PrescriptionTrigger,
)
from rems.domain.categories import FRP_CATEGORIES
from rems.domain.errors import Conflict, NotFound, Refused
from rems.domain.model import (
    Confirmation,
    Counselling,
    Dispense,
    Patient,
    Pharmacy,
    PrescriberSurvey,
    Prescription,
)
from rems.domain.prescribing import open_requirement
from rems.domain.requirements import Decision
from rems.services.commands import PharmacyRequest, RecordDispense, RequestAuthorization
from rems.services.context import Context
from rems.services.dispensing import optimistic, products
from rems.services.dispensing.records import load_check, load_records
from rems.services.dispensing.refusals import note_refusal, record_refusal
from rems.services.lifecycle import audit, new_id, new_number, transition
from rems.services.ports import UnitOfWork
from rems.services.programs import program_status
from rems.services.reminders import loop

OPEN = schedule.OPEN_STATES  # R36


@dataclass(frozen=True)
class Outcome:
    prescription: Prescription
    decision: Decision


def _patient_of(uow: UnitOfWork, patient_id: str, prescriber_id: str | None = None,
                lock: bool = False) -> Patient:
    patient = uow.get(Patient, patient_id, lock=lock)
    if prescriber_id is not None and patient.prescriber_id != prescriber_id:
        raise NotFound("patient", patient_id)  # a prescriber sees only their own patients
    return patient


def _authorize(uow: UnitOfWork, ctx: Context, rx: Prescription, patient: Patient) -> Decision:
    program = uow.program(rx.program_id)
    records = replace(load_records(uow, patient, rx),  # R36: the patient's other prescriptions
                      other_prescriptions=uow.prescriptions.matching(patient_id=patient.id, states=OPEN))
    decision = program_status.gate(uow, ctx, "authorize", rx,
                                   gate.evaluate("authorize", records, program, ctx.now))
    if decision.allowed:
        transition(uow, ctx, "prescription", rx, PrescriptionTrigger.AUTHORIZE, {"gate_passes": True})
        # R8, R22: the authorization carries the category in force when it is issued (the gate
        # has just checked the PPAF against it), not the one of the request.
        rx.category = schedule.current_category(patient, program, ctx.now)
        rx.expires_at, rx.qualifying_test_id = gate.authorization_expiry(records, program, ctx.now)
        rx.number, rx.authorized_at = new_number(program.authorization_prefix), ctx.now
    else:  # issue 6: kept pending, and the refusal is in the audit trail with every rule
        note_refusal(uow, ctx, "authorize", rx.id, decision.failures)
        loop.refused(uow, ctx, rx, decision.failures)  # issue 16 item 5: the prescriber's system hears it
    return decision


def _refuse_second_open(uow: UnitOfWork, ctx: Context, patient: Patient) -> None:
    """R36: at most one open authorization per patient per program; refused before anything is
    written (409 with the R36 requirement, which names what to do)."""
    program = uow.program(patient.program_id)
    today = schedule.Today(schedule.params_at(program, ctx.now), schedule.patient_tz(patient, program),
                           schedule.current_category(patient, program, ctx.now), ctx.now)
    others = uow.prescriptions.matching(patient_id=patient.id, states=OPEN)
    requirement = open_requirement(None, others, uow.patients.tests(patient.id), today)
    if not requirement.met:
        raise Refused("request authorization", [requirement])


def request_authorization(uow: UnitOfWork, ctx: Context, cmd: RequestAuthorization) -> Outcome:
    """R19: the prescription is kept as requested until the gate lets an authorization issue."""
    patient = _patient_of(uow, cmd.patient_id, cmd.prescriber_id, lock=True)
    program = uow.program(patient.program_id)
    ndc = products.prescribed_ndc(program, cmd.ndc, ctx.now)  # issue 17 item 7: before any write
    program_status.refuse_if_eliminated(uow, ctx, program.id, "request authorization")  # issue 17
    _refuse_second_open(uow, ctx, patient)
    rx = Prescription(id=new_id("rx"), program_id=patient.program_id, patient_id=patient.id,
                      prescriber_id=cmd.prescriber_id,
                      category=schedule.current_category(patient, program, ctx.now),  # R22, restamped at issue
                      days_supply=cmd.days_supply, quantity=cmd.quantity, refills=cmd.refills,
                      contraception_counselling_attested=cmd.contraception_counselling_attested,
                      requested_at=ctx.now, ndc=ndc, strength=cmd.strength)
    uow.add(rx)
    audit(uow, ctx, "prescription", rx.id, "request", None, rx.state)
    uow.flush()
    if cmd.prescriber_survey_completed:
        uow.add(PrescriberSurvey(id=new_id("psv"), prescriber_id=cmd.prescriber_id,
                                 prescription_id=rx.id, completed_at=ctx.now))
        uow.flush()
    decision = _authorize(uow, ctx, rx, patient)
    uow.commit()
    return Outcome(rx, decision)


def record_prescriber_survey(uow: UnitOfWork, ctx: Context, prescription_id: str,
                             prescriber_id: str) -> Outcome:
    """R19: the survey for a pending prescription; the authorization issues if all else holds."""
    rx = uow.get(Prescription, prescription_id, lock=True)
    if rx.prescriber_id != prescriber_id:
        raise NotFound("prescription", prescription_id)
    if not uow.prescriptions.survey_done(rx.id):
        uow.add(PrescriberSurvey(id=new_id("psv"), prescriber_id=prescriber_id,
                                 prescription_id=rx.id, completed_at=ctx.now))
        uow.flush()
    return authorize(uow, ctx, rx.id, prescriber_id)


def authorize(uow: UnitOfWork, ctx: Context, prescription_id: str, prescriber_id: str) -> Outcome:
    rx = uow.get(Prescription, prescription_id, lock=True)
    if rx.prescriber_id != prescriber_id:
        raise NotFound("prescription", prescription_id)
    if rx.state != PrescriptionState.REQUESTED:
        raise Conflict(f"prescription {rx.id} is {rx.state}, not requested")
    decision = _authorize(uow, ctx, rx, uow.get(Patient, rx.patient_id))
    uow.commit()
    return Outcome(rx, decision)


def _pharmacy_view(uow: UnitOfWork, cmd: PharmacyRequest,
                   lock: bool) -> tuple[Prescription, Patient, Pharmacy]:
    pharmacy = uow.get(Pharmacy, cmd.pharmacy_id)
    rx = uow.prescriptions.by_number(cmd.number, lock=lock)
    if cmd.patient_id is not None and cmd.patient_id != rx.patient_id:
        raise NotFound("authorization", cmd.number)  # never confirm a number for someone else
    return rx, uow.get(Patient, rx.patient_id), pharmacy


def check(uow: UnitOfWork, ctx: Context, cmd: PharmacyRequest) -> Decision:
    """The pharmacy's ETASU check: what obtaining a confirmation would decide now (read-only)."""
    rx, pharmacy, records = load_check(uow, cmd.number, cmd.pharmacy_id, cmd.patient_id)  # issue 14
    decision = program_status.gate(uow, ctx, "check", rx,
                                   gate.evaluate("confirm", records, uow.program(rx.program_id), ctx.now))
    if not decision.allowed:  # issue 6: a refused check is audited too
        record_refusal(uow, ctx, "check", rx.id, decision.failures, pharmacy.id, rollback=False)
    return decision


def _expire_stale_confirmation(uow: UnitOfWork, ctx: Context, rx: Prescription) -> None:
    live = uow.confirmations.live(rx.id)
    params = schedule.params_at(uow.program(rx.program_id), ctx.now)
    if live is not None and ctx.now > schedule.confirmation_expiry(live, params):  # R27, T3: here, sweep or not
        transition(uow, ctx, "confirmation", live, ConfirmationTrigger.EXPIRE, {"past_expiry": True})
        loop.not_dispensed(uow, ctx, live, rx, "R27", f"confirmation {live.number} expired unused")
        if rx.state == PrescriptionState.CONFIRMED:
            transition(uow, ctx, "prescription", rx, PrescriptionTrigger.RELEASE)
        uow.flush()


def _confirm_under_lock(uow: UnitOfWork, ctx: Context, cmd: PharmacyRequest) -> optimistic.Confirming:
    rx, patient, pharmacy = _pharmacy_view(uow, cmd, lock=True)
    _expire_stale_confirmation(uow, ctx, rx)
    program = uow.program(rx.program_id)
    decision = gate.evaluate("confirm", load_records(uow, patient, rx, pharmacy=pharmacy), program,
                             ctx.now)
    return optimistic.Confirming(rx, pharmacy, program, decision)


def obtain_confirmation(uow: UnitOfWork, ctx: Context, cmd: PharmacyRequest) -> Confirmation:
    """R26: a confirmation number only while every gate holds; valid for R27's window."""
    # Issue 14 item 3: on SQLite decided before the write lock and re-checked under it, else here.
    rx, pharmacy, program, decision = (optimistic.confirmation(uow, ctx, cmd)
                                       or _confirm_under_lock(uow, ctx, cmd))
    # Issue 17 items 4, 5: the lifecycle and a declared relaxation, on both paths, under the lock
    decision = program_status.gate(uow, ctx, "confirm", rx, decision)
    try:
        transition(uow, ctx, "prescription", rx, PrescriptionTrigger.CONFIRM, {"gate_passes": decision.allowed},
                   gate=decision.failures)
    except Refused as refused:  # issue 6: audited after the rollback, in its own transaction
        record_refusal(uow, ctx, "confirm", rx.id, refused.failures, pharmacy.id)
        raise
    hours = schedule.params_at(program, ctx.now).confirmation_valid_hours
    confirmation = Confirmation(id=new_id("cnf"), number=new_number("C"), prescription_id=rx.id,
                                pharmacy_id=pharmacy.id, issued_at=ctx.now,
                                expires_at=ctx.now + timedelta(hours=hours))
    uow.add(confirmation)
    audit(uow, ctx, "confirmation", confirmation.id, "issue", None, confirmation.state)
    uow.commit()
    return confirmation


def _dispense_under_lock(uow: UnitOfWork, ctx: Context, cmd: RecordDispense) -> optimistic.Dispensing:
    confirmation = uow.confirmations.by_number(cmd.confirmation_number)
    pharmacy = uow.get(Pharmacy, cmd.pharmacy_id)
    if confirmation.pharmacy_id != pharmacy.id:
        raise NotFound("confirmation", cmd.confirmation_number)
    rx = uow.lock_prescription(confirmation.prescription_id)  # its patient and person first (R28)
    patient = uow.get(Patient, rx.patient_id)  # locked just now: the session's copy, no statement
    counselling = Counselling(cmd.counselled, cmd.education_checklist_completed,
                              cmd.medication_guide_given)
    records = load_records(uow, patient, rx, pharmacy, confirmation, counselling)
    decision = gate.evaluate("dispense", records, uow.program(rx.program_id), ctx.now)
    return optimistic.Dispensing(confirmation, pharmacy, rx, patient, decision)


def record_dispense(uow: UnitOfWork, ctx: Context, cmd: RecordDispense) -> Dispense:
    """Every gate again, plus R27 and R29; the database refuses a second dispense (R33)."""
    # Issue 14 item 3: on SQLite decided before the write lock and re-checked under it, else here.
    confirmation, pharmacy, rx, patient, decision = (optimistic.dispense(uow, ctx, cmd)
                                                     or _dispense_under_lock(uow, ctx, cmd))
    # Issue 17 items 4, 5: the lifecycle and a declared relaxation, on both paths, under the lock
    decision = program_status.gate(uow, ctx, "dispense", rx, decision)
    try:
        transition(uow, ctx, "prescription", rx, PrescriptionTrigger.DISPENSE, {"gate_passes": decision.allowed},
                   gate=decision.failures)
    except Refused as refused:  # issue 6: audited after the rollback, in its own transaction
        record_refusal(uow, ctx, "dispense", rx.id, refused.failures, pharmacy.id)
        raise
    transition(uow, ctx, "confirmation", confirmation, ConfirmationTrigger.USE)
    dispense = Dispense(id=new_id("dsp"), prescription_id=rx.id, confirmation_id=confirmation.id,
                        pharmacy_id=pharmacy.id, patient_id=patient.id, dispensed_at=ctx.now,
                        days_supply=rx.days_supply, counselled=cmd.counselled,
                        education_checklist_completed=cmd.education_checklist_completed,
                        medication_guide_given=cmd.medication_guide_given)
    uow.add(dispense)
    if rx.category in FRP_CATEGORIES and patient.test_phase == "initial":
        transition(uow, ctx, "pregnancy_testing", patient, PregnancyTestingTrigger.START_TREATMENT, attribute="test_phase")
    uow.commit()
    return dispense


def void_prescription(uow: UnitOfWork, ctx: Context, prescription_id: str,
                      prescriber_id: str | None = None) -> Prescription:
    rx = uow.get(Prescription, prescription_id, lock=True)
    if prescriber_id is not None and rx.prescriber_id != prescriber_id:
        raise NotFound("prescription", prescription_id)
    _void(uow, ctx, rx)
    uow.commit()
    return rx


def _void(uow: UnitOfWork, ctx: Context, rx: Prescription) -> None:
    live = uow.confirmations.live(rx.id)
    if live is not None:
        transition(uow, ctx, "confirmation", live, ConfirmationTrigger.VOID)
        loop.not_dispensed(uow, ctx, live, rx, "R26", f"confirmation {live.number} was voided with its authorization")
    transition(uow, ctx, "prescription", rx, PrescriptionTrigger.VOID)


def void_open_prescriptions(uow: UnitOfWork, ctx: Context, *, patient_id: str | None = None,
                            prescriber_id: str | None = None, program_id: str | None = None) -> int:
    """R3, R30: void every open prescription of a prescriber or a patient, in one program if
    given (R3: a certification is per program), (no commit)."""
    if not (patient_id or prescriber_id):
        raise ValueError("void_open_prescriptions needs a patient or a prescriber")
    open_rx = uow.prescriptions.matching(patient_id=patient_id, prescriber_id=prescriber_id, states=OPEN,
                                program_id=program_id)
    for rx in open_rx:
        _void(uow, ctx, rx)
    return len(open_rx)


def release_confirmations_of(uow: UnitOfWork, ctx: Context, pharmacy_id: str,
                             program_id: str | None = None) -> None:
    """R25: a pharmacy no longer certified (in `program_id`, if given) holds no live confirmation
    there (no commit)."""
    for confirmation in uow.confirmations.issued(pharmacy_id=pharmacy_id):
        rx = uow.get(Prescription, confirmation.prescription_id)
        if program_id is not None and rx.program_id != program_id:
            continue
        transition(uow, ctx, "confirmation", confirmation, ConfirmationTrigger.VOID)
        loop.not_dispensed(uow, ctx, confirmation, rx, "R25", f"the pharmacy holding confirmation "
                           f"{confirmation.number} is no longer certified")
        if rx.state == PrescriptionState.CONFIRMED:
            transition(uow, ctx, "prescription", rx, PrescriptionTrigger.RELEASE)

