"""Patient use cases: enrollment with a PPAF, category change, holds, tests, surveys (R5-R12, R20, R30)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from rems.domain import gate, schedule
from rems.domain.catalogue import (
    HOLD_PATIENT_STATES,
    PATIENT_STATE_TRIGGERS,
    PatientTrigger,
    PregnancyTestingTrigger,
)
from rems.domain.categories import CHILD_CATEGORIES, FRP_CATEGORIES
from rems.domain.errors import InvalidInput, NotFound
from rems.domain.model import Patient, PatientSurvey, Ppaf, PregnancyReport, PregnancyTest, Prescriber
from rems.domain.testing import acceptable
from rems.services.commands import (
    EnrollPatient,
    PpafSignature,
    RecordPatientSurvey,
    RecordPregnancyTest,
    RenewPpaf,
)
from rems.services.context import Context
from rems.services.dispensing.prescriptions import void_open_prescriptions
from rems.services.dispensing.retry import always_applied
from rems.services.enrollment import contacts, persons
from rems.services.enrollment.facts import apply_facts
from rems.services.enrollment.zones import checked_zone, local_date, zone_of
from rems.services.lifecycle import audit, new_id, transition
from rems.services.ports import UnitOfWork
from rems.services.programs import program_status
from workflows.definitions import TREATABLE

STATE_TRIGGERS = PATIENT_STATE_TRIGGERS


def _sign_ppaf(uow: UnitOfWork, ctx: Context, patient: Patient, sig: PpafSignature,
               trigger: str) -> None:
    """R5, R6, R8: the PPAF must be for the category the facts give, signed by a guardian for a child."""
    if sig.signed_by == "guardian" and not sig.guardian_name:
        raise InvalidInput("ppaf.guardian_name", "required when a guardian signs")
    program = uow.program(patient.program_id)
    params = schedule.params_at(program, ctx.now)
    current = schedule.current_category(patient, program, ctx.now)  # T1: the patient's calendar
    uow.get(Prescriber, patient.prescriber_id)
    # R1, R5: certified in the patient's program, not in another one
    certified = uow.certifications.of("prescriber", patient.prescriber_id, patient.program_id)
    facts = {
        "prescriber_certified": gate.prescriber_requirement(certified, patient.program_id, params,
                                                            ctx.now).met,
        "ppaf_matches_category": sig.category == current,
        "guardian_signed_if_child": current not in CHILD_CATEGORIES or sig.signed_by == "guardian",
    }
    transition(uow, ctx, "patient", patient, trigger, facts)
    # PPAFs are ordered by signing time (R8: the latest counts); keep that order strict.
    previous = [p.signed_at for p in uow.patients.ppafs(patient.id)]
    signed_at = max([ctx.now, *(t + timedelta(microseconds=1) for t in previous)])
    uow.add(Ppaf(id=new_id("ppf"), patient_id=patient.id, prescriber_id=patient.prescriber_id,
                 category=sig.category, signed_at=signed_at, signed_by=sig.signed_by,
                 guardian_name=sig.guardian_name))
    frp, testing = current in FRP_CATEGORIES, patient.test_phase != "not_required"
    if frp and not testing and patient.test_phase != "positive":
        transition(uow, ctx, "pregnancy_testing", patient, PregnancyTestingTrigger.BECOME_FRP, attribute="test_phase")
    elif testing and not frp and patient.test_phase != "positive":
        transition(uow, ctx, "pregnancy_testing", patient, PregnancyTestingTrigger.BECOME_FNRP, attribute="test_phase")


def enroll_patient(uow: UnitOfWork, ctx: Context, cmd: EnrollPatient) -> Patient:
    """R5-R8 with R34: one person, one live enrollment per program; T1: the patient's zone."""
    program = uow.program(cmd.program_id)
    uow.get(Prescriber, cmd.prescriber_id)
    zone = checked_zone(cmd.time_zone) if cmd.time_zone else program.time_zone
    today = local_date(ctx.now, zone)
    if cmd.birth_date > today:
        raise InvalidInput("birth_date", "cannot be in the future")
    patient = Patient(id=new_id("pat"), program_id=cmd.program_id, prescriber_id=cmd.prescriber_id,
                      name=cmd.name, sex=cmd.sex, birth_date=cmd.birth_date, enrolled_at=ctx.now,
                      cycles_regular=cmd.cycles_regular, time_zone=zone)
    apply_facts(patient, cmd.facts, today, program.at(ctx.now), one_way=False)
    person = persons.person_for_enrollment(uow, ctx, cmd)
    program_status.refuse_new_enrollment(uow, ctx, cmd.program_id, person.id)  # issue 17 item 4
    persons.check_enrollable(uow, person, cmd.program_id)
    patient.person_id = person.id
    uow.add(patient)
    uow.flush()
    _sign_ppaf(uow, ctx, patient, cmd.ppaf, "enroll")
    contacts.record(uow, ctx, "patient", patient.id, contacts.of_patient(cmd.contact))  # issue 18
    uow.commit()
    return patient


def owned_patient(uow: UnitOfWork, patient_id: str, prescriber_id: str | None,
                  lock: bool = True) -> Patient:
    patient = uow.get(Patient, patient_id, lock=lock)
    if prescriber_id is not None and patient.prescriber_id != prescriber_id:
        raise NotFound("patient", patient_id)
    return patient


def renew_ppaf(uow: UnitOfWork, ctx: Context, cmd: RenewPpaf, prescriber_id: str | None = None) -> Patient:
    """R8: new facts (menarche, surgery, menopause) or a birthday need a PPAF for the new category."""
    patient = owned_patient(uow, cmd.patient_id, prescriber_id)
    program_status.refuse_if_eliminated(uow, ctx, patient.program_id, "renew PPAF")  # issue 17 item 4
    program = uow.program(patient.program_id)
    today = local_date(ctx.now, zone_of(patient, program))
    apply_facts(patient, cmd.facts, today, program.at(ctx.now), one_way=True)  # R35
    _sign_ppaf(uow, ctx, patient, cmd.ppaf, "renew_ppaf")
    uow.commit()
    return patient


def _stop_one(uow: UnitOfWork, ctx: Context, patient: Patient, source: str) -> None:
    if patient.state in TREATABLE:
        transition(uow, ctx, "patient", patient, PatientTrigger.REPORT_PREGNANCY)
    if patient.test_phase != "positive" and source != "partner":
        transition(uow, ctx, "pregnancy_testing", patient, PregnancyTestingTrigger.POSITIVE_RESULT, attribute="test_phase")
    void_open_prescriptions(uow, ctx, patient_id=patient.id)


def _stop_for_pregnancy(uow: UnitOfWork, ctx: Context, patient: Patient, source: str) -> None:
    """R30, R34: stop at once every enrollment of the person (any program), void every open
    authorization, and open a pregnancy report on this record."""
    _stop_one(uow, ctx, patient, source)
    others = [p for p in uow.persons.enrollments(patient.person_id) if p.id != patient.id] \
        if patient.person_id else []
    for other in sorted(others, key=lambda p: p.id):  # one lock order between stops
        uow.lock_patient(other)
        _stop_one(uow, ctx, other, source)
    report = PregnancyReport(id=new_id("prg"), patient_id=patient.id, reported_at=ctx.now,
                             source=source)
    uow.add(report)
    audit(uow, ctx, "pregnancy_report", report.id, "open", None, "open")


@always_applied(when=lambda call: call["cmd"].result == "positive")  # R30: issue 13 item 9
def record_pregnancy_test(uow: UnitOfWork, ctx: Context, cmd: RecordPregnancyTest,
                          prescriber_id: str | None = None) -> PregnancyTest:
    patient = owned_patient(uow, cmd.patient_id, prescriber_id)
    if cmd.result != "positive":  # issue 17 item 4; a positive result always stops therapy (R30)
        program_status.refuse_if_eliminated(uow, ctx, patient.program_id, "record pregnancy test")
    if cmd.collected_at > ctx.now:
        raise InvalidInput("collected_at", "cannot be in the future")
    if local_date(cmd.collected_at, zone_of(patient, uow.program(patient.program_id))) < patient.birth_date:
        raise InvalidInput("collected_at", "is before the patient's birth date")
    test = PregnancyTest(id=new_id("tst"), recorded_at=ctx.now, **cmd.model_dump())
    uow.add(test)
    audit(uow, ctx, "pregnancy_test", test.id, f"record_{cmd.result}", None, cmd.result)
    params = schedule.params_at(uow.program(patient.program_id), ctx.now)
    if cmd.result == "positive":
        _stop_for_pregnancy(uow, ctx, patient, "positive_test")
    elif (patient.state in HOLD_PATIENT_STATES and patient.hold_since is not None
          and cmd.collected_at >= patient.hold_since and acceptable(test, params)):
        transition(uow, ctx, "patient", patient, PatientTrigger.RELEASE_HOLD, {"negative_test_since_hold": True})
        patient.hold_since = None
    uow.commit()
    return test


@always_applied()  # R30: issue 13 item 9
def report_pregnancy(uow: UnitOfWork, ctx: Context, patient_id: str,
                     source: Literal["patient", "partner"], prescriber_id: str | None = None) -> Patient:
    patient = owned_patient(uow, patient_id, prescriber_id)
    if source == "partner" and patient.sex != "male":
        raise InvalidInput("source", "a partner's pregnancy is reported for a male patient")
    _stop_for_pregnancy(uow, ctx, patient, source)
    uow.commit()
    return patient


@always_applied()  # R12: issue 13 item 9
def report_missed_period(uow: UnitOfWork, ctx: Context, patient_id: str,
                         prescriber_id: str | None = None) -> Patient:
    """R12: a missed period or abnormal bleeding holds the patient until a new negative test."""
    patient = owned_patient(uow, patient_id, prescriber_id)
    if schedule.current_category(patient, uow.program(patient.program_id), ctx.now) not in FRP_CATEGORIES:
        raise InvalidInput("patient_id", "a missed period applies to a female of reproductive potential")
    transition(uow, ctx, "patient", patient, PatientTrigger.HOLD)
    patient.hold_since = ctx.now
    uow.commit()
    return patient


def change_state(uow: UnitOfWork, ctx: Context, patient_id: str, trigger: str,
                 prescriber_id: str | None = None) -> Patient:
    """interrupt / resume / discontinue; discontinuing voids open authorizations."""
    if trigger not in STATE_TRIGGERS:
        raise InvalidInput("trigger", f"must be one of {', '.join(STATE_TRIGGERS)}")
    patient = owned_patient(uow, patient_id, prescriber_id)
    if trigger == PatientTrigger.RESUME:  # issue 17 item 4: nothing resumes in an eliminated program
        program_status.refuse_if_eliminated(uow, ctx, patient.program_id, "resume therapy")
    transition(uow, ctx, "patient", patient, trigger)
    if trigger == PatientTrigger.DISCONTINUE:
        void_open_prescriptions(uow, ctx, patient_id=patient.id)
    uow.commit()
    return patient


def set_cycles(uow: UnitOfWork, ctx: Context, patient_id: str, regular: bool,
               prescriber_id: str | None = None) -> Patient:
    """R11: irregular cycles shorten the test interval from 4 weeks to 2."""
    patient = owned_patient(uow, patient_id, prescriber_id)
    patient.cycles_regular = regular
    trigger = "cycles_regular" if regular else "cycles_irregular"
    if patient.test_phase in ("every_4_weeks", "every_2_weeks") and \
            patient.test_phase != ("every_4_weeks" if regular else "every_2_weeks"):
        transition(uow, ctx, "pregnancy_testing", patient, trigger, attribute="test_phase")
    else:
        audit(uow, ctx, "patient", patient.id, trigger, patient.state, patient.state)
    uow.commit()
    return patient


def change_time_zone(uow: UnitOfWork, ctx: Context, patient_id: str, time_zone: str,
                     prescriber_id: str | None = None) -> Patient:
    """T1: the patient's calendar (birthdays, day counts, survey months) follows this zone."""
    patient = owned_patient(uow, patient_id, prescriber_id)
    zone = checked_zone(time_zone)
    if zone != patient.time_zone:
        audit(uow, ctx, "patient", patient.id, "change_time_zone", patient.state, patient.state,
              refs={"from_zone": patient.time_zone or "", "to_zone": zone})
        patient.time_zone = zone
    uow.commit()
    return patient


def record_patient_survey(uow: UnitOfWork, ctx: Context, cmd: RecordPatientSurvey) -> PatientSurvey:
    """R20, R6: a child's survey is completed by a parent or guardian."""
    patient = owned_patient(uow, cmd.patient_id, None)
    program_status.refuse_if_eliminated(uow, ctx, patient.program_id, "record patient survey")  # issue 17
    # R6 on the patient's calendar (T1): a child until her local 18th birthday
    if schedule.current_category(patient, uow.program(patient.program_id), ctx.now) in CHILD_CATEGORIES \
            and cmd.respondent != "guardian":
        raise InvalidInput("respondent", "a parent or guardian completes the survey for a child (R6)")
    survey = PatientSurvey(id=new_id("srv"), patient_id=patient.id, completed_at=ctx.now,
                           respondent=cmd.respondent)
    uow.add(survey)
    audit(uow, ctx, "patient_survey", survey.id, "complete", None, "completed")
    uow.commit()
    return survey
