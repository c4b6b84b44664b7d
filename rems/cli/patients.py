"""CLI for patients: enrollment and PPAF, tests, surveys, holds, status (R5-R12, R20, R30)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import typer

from rems.cli.output import call, emit, emit_model, instant, local, local_text
from rems.domain.catalogue import PATIENT_STATE_TRIGGERS
from rems.domain.errors import InvalidInput

# rems.services.enrollment.patients.STATE_TRIGGERS, from the catalogue so that `rems --help` loads no
# service (tests/unit/test_cli_lazy.py keeps the two equal).
STATE_TRIGGERS = PATIENT_STATE_TRIGGERS

patient = typer.Typer(help="Patient enrollment and therapy state (R5-R8, R12, R30).", no_args_is_help=True)
test = typer.Typer(help="Pregnancy tests (R9-R11, R30).", no_args_is_help=True)
survey = typer.Typer(help="Patient and prescriber surveys (R19, R20).", no_args_is_help=True)


def stated_facts(menarche: bool | None, hysterectomy: bool | None, oophorectomy: bool | None,
           postmenopausal_since: str | None) -> dict[str, Any] | None:
    """R35: the facts as stated; an option left out stays out (the command then names it), and
    none given at all is "not applicable" (a male patient)."""
    given = {"menarche": menarche, "hysterectomy": hysterectomy, "bilateral_oophorectomy": oophorectomy}
    facts: dict[str, Any] = {name: value for name, value in given.items() if value is not None}
    if postmenopausal_since is not None:
        facts["postmenopausal_since"] = None if postmenopausal_since.lower() == "none" \
            else postmenopausal_since
    return facts or None


MENARCHE = typer.Option(None, "--menarche/--no-menarche", help="R8: has reached menarche (a female: required)")
HYSTERECTOMY = typer.Option(None, "--hysterectomy/--no-hysterectomy", help="R7 (a female: required)")
OOPHORECTOMY = typer.Option(None, "--oophorectomy/--no-oophorectomy",
                            help="R7: bilateral oophorectomy (a female: required)")
POSTMENOPAUSAL = typer.Option(None, help="R7: YYYY-MM-DD, or none (a female: required)")


def _identifier(text: str) -> dict[str, str]:
    system, bar, value = text.partition("|")
    if not bar:
        raise InvalidInput("identifier", "SYSTEM|VALUE, e.g. 'urn:hospital:mrn|12345'")
    return {"system": system, "value": value}


def _ppaf(category: str, guardian: str | None) -> dict[str, Any]:
    return {"category": category, "signed_by": "guardian" if guardian else "patient",
            "guardian_name": guardian}


def _contact(**given: str | None) -> dict[str, str] | None:
    """Issue 18: the contact options given (the command checks them), None when there are none."""
    return {name: value for name, value in given.items() if value is not None} or None


@patient.command("enroll")
def enroll(prescriber: str = typer.Option(..., help="Prescriber id"),
           name: str = typer.Option(...), sex: str = typer.Option(..., help="female or male"),
           birth_date: str = typer.Option(..., help="YYYY-MM-DD"),
           category: str = typer.Option(..., help="PPAF risk category (R5a)"),
           program: str = typer.Option("pomalidomide"),
           guardian: str = typer.Option(None, help="Parent or guardian who signs for a child (R6)"),
           menarche: bool | None = MENARCHE, hysterectomy: bool | None = HYSTERECTOMY,
           oophorectomy: bool | None = OOPHORECTOMY, postmenopausal_since: str | None = POSTMENOPAUSAL,
           irregular_cycles: bool = typer.Option(False),
           identifier: list[str] = typer.Option(
               [], help="R34: SYSTEM|VALUE, e.g. 'urn:hospital:mrn|12345' (repeatable)"),
           time_zone: str = typer.Option(None, help="T1: IANA zone (default: the program's)"),
           phone: str = typer.Option(None, help="The patient's phone, international (+1 555 010 0123)"),
           email: str = typer.Option(None, help="The patient's e-mail address"),
           preferred: str = typer.Option(None, help="Preferred contact: phone, sms or email"),
           guardian_phone: str = typer.Option(None, help="R6: the guardian's phone (with --guardian)"),
           guardian_email: str = typer.Option(None, help="R6: the guardian's e-mail (with --guardian)"),
           ) -> None:
    """Enroll a patient with a signed PPAF for exactly one risk category (R5); one person, one
    enrollment per program (R34). Contact details are optional and never logged."""
    from rems.schemas.outputs import PatientOut
    from rems.services.commands import EnrollPatient, parse
    from rems.services.enrollment import patients as svc
    try:
        cmd = parse(EnrollPatient, program_id=program, prescriber_id=prescriber, name=name, sex=sex,
                    birth_date=birth_date, cycles_regular=not irregular_cycles,
                    facts=stated_facts(menarche, hysterectomy, oophorectomy, postmenopausal_since),
                    ppaf=_ppaf(category, guardian), identifiers=[_identifier(i) for i in identifier],
                    time_zone=time_zone, contact=_contact(phone=phone, email=email, preferred=preferred,
                                                          guardian_phone=guardian_phone,
                                                          guardian_email=guardian_email))
    except InvalidInput as error:  # issue 18: a contact field is named by its option
        if not error.field.startswith("contact."):
            raise
        raise InvalidInput("--" + error.field.removeprefix("contact.").replace("_", "-"), error.reason) from None
    p = call(svc.enroll_patient, cmd)
    emit_model(PatientOut.of(p), f"patient {p.id} enrolled ({p.state}; pregnancy testing: {p.test_phase})")


@patient.command("renew-ppaf")
def renew_ppaf(patient_id: str, category: str = typer.Option(...),
               guardian: str = typer.Option(None), menarche: bool | None = MENARCHE,
               hysterectomy: bool | None = HYSTERECTOMY, oophorectomy: bool | None = OOPHORECTOMY,
               postmenopausal_since: str | None = POSTMENOPAUSAL) -> None:
    """Sign a new PPAF after a category change (R8): state every current fact of a female (R35)."""
    from rems.schemas.outputs import PatientOut
    from rems.services.commands import RenewPpaf, parse
    from rems.services.enrollment import patients as svc
    cmd = parse(RenewPpaf, patient_id=patient_id, ppaf=_ppaf(category, guardian),
                facts=stated_facts(menarche, hysterectomy, oophorectomy, postmenopausal_since))
    p = call(svc.renew_ppaf, cmd)
    emit_model(PatientOut.of(p), f"patient {p.id}: new PPAF ({category}); testing: {p.test_phase}")


def _patient_command(name: str, help_text: str, service: str, *args: Any) -> None:
    def command(patient_id: str) -> None:
        from rems.schemas.outputs import PatientOut
        from rems.services.enrollment import patients as svc
        p = call(getattr(svc, service), patient_id, *args)
        emit_model(PatientOut.of(p), f"patient {p.id}: {p.state}")
    command.__doc__ = help_text
    patient.command(name)(command)


_patient_command("missed-period", "Missed period or abnormal bleeding: hold until a negative test (R12).",
                 "report_missed_period")
_patient_command("report-pregnancy", "Pregnancy reported: stop therapy, void authorizations (R30).",
                 "report_pregnancy", "patient")
_patient_command("report-partner-pregnancy", "A male patient's partner is pregnant (R30).",
                 "report_pregnancy", "partner")
for _trigger in STATE_TRIGGERS:
    _patient_command(_trigger, f"{_trigger.capitalize()} therapy (audited).", "change_state", _trigger)


@patient.command("time-zone")
def time_zone(patient_id: str, zone: str = typer.Option(..., help="T1: IANA zone, e.g. America/Chicago")) -> None:
    """Change the patient's time zone: every calendar rule follows it (T1); audited."""
    from rems.schemas.persons import TimeZoneOut
    from rems.services.enrollment import patients as svc
    p = call(svc.change_time_zone, patient_id, zone)
    emit_model(TimeZoneOut.of(p), f"patient {p.id}: time zone {p.time_zone}")


@patient.command("cycles")
def cycles(patient_id: str, regular: bool = typer.Option(..., "--regular/--irregular")) -> None:
    """Record whether menstrual cycles are regular (R11 test interval)."""
    from rems.schemas.outputs import PatientOut
    from rems.services.enrollment import patients as svc
    p = call(svc.set_cycles, patient_id, regular)
    emit_model(PatientOut.of(p), f"patient {p.id}: cycles {'regular' if regular else 'irregular'}")


@test.command("record")
def record_test(patient_id: str, result: str = typer.Option(..., help="negative or positive"),
                sensitivity: int = typer.Option(..., help="lowest hCG level the test detects, mIU/mL (R10: 50 or lower)"),
                collected_at: str = typer.Option(None, help="ISO time with a UTC offset (T1: refused without); default now"),
                setting: str = typer.Option("lab", help="lab, office or home"),
                home_accepted: bool = typer.Option(False, help="Prescriber accepts a home test")) -> None:
    """Record a pregnancy test result."""
    from rems.schemas.outputs import PregnancyTestOut
    from rems.services.commands import RecordPregnancyTest, parse
    from rems.services.enrollment import patients as svc
    cmd = parse(RecordPregnancyTest, patient_id=patient_id, result=result,
                sensitivity_miu_per_ml=sensitivity, setting=setting, home_test_accepted=home_accepted,
                collected_at=instant(collected_at, "--collected-at", "collected_at") or datetime.now(UTC))
    t = call(svc.record_pregnancy_test, cmd)
    emit_model(PregnancyTestOut.of(t), f"test {t.id}: {t.result}, collected {local(t.collected_at)}")


@survey.command("patient")
def patient_survey(patient_id: str, respondent: str = typer.Option("patient", help="patient or guardian")) -> None:
    """The patient (or a guardian for a child) completes the patient survey (R20, R6)."""
    from rems.schemas.outputs import SurveyOut
    from rems.services.commands import RecordPatientSurvey, parse
    from rems.services.enrollment import patients as svc
    s = call(svc.record_patient_survey, parse(RecordPatientSurvey, patient_id=patient_id,
                                               respondent=respondent))
    emit_model(SurveyOut.of(s), f"patient survey {s.id} recorded {local(s.completed_at)}")


@survey.command("prescriber")
def prescriber_survey(prescription_id: str, prescriber: str = typer.Option(...)) -> None:
    """The prescriber survey for a pending prescription (R19); authorizes if every gate holds."""
    from rems.cli.dispensing import show_outcome
    from rems.services.dispensing.prescriptions import record_prescriber_survey
    show_outcome(call(record_prescriber_survey, prescription_id, prescriber))


def status(patient_id: str) -> None:
    """Every gate of a patient, green or red, and what is due next."""
    from rems.schemas.outputs import PatientStatusOut
    from rems.services.views.status import patient_status
    data = call(patient_status, patient_id)
    lines = [f"patient {data['patient_id']} ({data['program']}): {data['state']}, category "
             f"{data['category']} (PPAF: {data['ppaf_category']}), testing: {data['test_phase']}"]
    for g in data["gates"]:
        lines.append(f"  [{'ok  ' if g['met'] else 'FAIL'}] {g['rule']:<4} {g['message']}")
    for d in data["due_next"]:
        lines.append(f"  due: {d['what']} ({d['rule']}) {local_text(d['due'])}{' OVERDUE' if d['overdue'] else ''}")
    for rx in data["prescriptions"]:
        blocked = ", ".join(f["code"] for f in rx.get("failures", []))
        lines.append(f"  rx {rx['id']} {rx['number'] or '-'} {rx['state']}"
                     f"{' blocked by ' + blocked if blocked else ''}")
    emit(PatientStatusOut.of(data).model_dump(mode="json"), "\n".join(lines))
