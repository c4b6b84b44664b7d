"""Issue 16 item 3: a completed form (FHIR `$submit` or the dashboard) becomes the same command.

patient survey -> patients.record_patient_survey (R20, R6); prescriber survey ->
prescriptions.record_prescriber_survey (R19); enrollment (PPAF) -> patients.enroll_patient (R5-R8).
The counselling checklist is recorded with the dispense (R27), never alone. Answers are checked
against the program's questionnaire first (InvalidInput naming `answers.<linkId>`). A survey with
a wrong knowledge answer is recorded as failed (form_responses, audited) and raises InvalidInput:
no patient_surveys row, no prescriber survey, so the gate still refuses (R20/R19).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from rems.domain import schedule
from rems.domain.errors import InvalidInput, NotFound
from rems.domain.model import FormResponse, Patient, PatientSurvey, Prescription
from rems.services.commands import EnrollPatient, RecordPatientSurvey, parse
from rems.services.context import Context
from rems.services.dispensing import prescriptions
from rems.services.dispensing.prescriptions import Outcome
from rems.services.enrollment import patients
from rems.services.lifecycle import audit, new_id
from rems.services.ports import UnitOfWork
from rems.services.programs import program_status
from workflows.program import Program
from workflows.questionnaires import ItemSpec, QuestionnaireSpec

MAX_TEXT = 500
FAILED = "wrong answer to a knowledge question: the survey is recorded as failed and does not count"
REVIEW = "review this question: the answer given is not the program's ({rule}); the survey is recorded " \
    "as failed and does not count, take it again"


class FormInvalid(InvalidInput):
    """Every bad answer of one form, `answers.<linkId>` -> reason (the first is `field`/`reason`)."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        first = next(iter(errors))
        super().__init__(first, errors[first])
        self.errors = dict(errors)


class SurveyFailed(FormInvalid):
    """R19/R20: a wrong knowledge answer. Names the questions to review, never their right answers."""

    def __init__(self, rule: str, response: FormResponse) -> None:
        super().__init__({f"answers.{link}": REVIEW.format(rule=rule) for link in response.wrong})
        self.rule, self.response_id, self.wrong = rule, response.id, tuple(response.wrong)
        self.reason = f"{FAILED} ({rule}); wrong: {', '.join(response.wrong)}"
        self.args = (f"{self.field}: {self.reason}",)


def find(programs: Mapping[str, Program], questionnaire_id: str) -> tuple[Program, QuestionnaireSpec]:
    for program in programs.values():
        for spec in program.questionnaires:
            if spec.id == questionnaire_id:
                return program, spec
    raise NotFound("questionnaire", questionnaire_id)


def form_of(program: Program, form: str) -> QuestionnaireSpec | None:
    return next((q for q in program.questionnaires if q.form == form), None)


def _value(item: ItemSpec, value: Any) -> Any:
    field = f"answers.{item.link_id}"
    if item.type == "boolean":
        if not isinstance(value, bool):
            raise InvalidInput(field, "must be true or false")
    elif item.type == "choice":
        if value not in item.options:
            raise InvalidInput(field, "must be one of the question's options")
    elif item.type == "date":
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                raise InvalidInput(field, "must be a date (YYYY-MM-DD)") from None
        if not isinstance(value, date):
            raise InvalidInput(field, "must be a date (YYYY-MM-DD)")
    elif item.type == "string":
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
            raise InvalidInput(field, f"must be text (1 to {MAX_TEXT} characters)")
        value = value.strip()
    else:
        raise InvalidInput(field, "a display item takes no answer")
    return value


def checked(spec: QuestionnaireSpec, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers, each of its item's type; every unknown linkId and missing or mistyped answer
    named at once (FormInvalid), so a form shows each beside its field."""
    errors = {f"answers.{link_id}": f"no such item in questionnaire {spec.id}"
              for link_id in answers if spec.item(link_id) is None}
    out: dict[str, Any] = {}
    for item in spec.items:
        if answers.get(item.link_id) is None:
            if item.required:
                errors[f"answers.{item.link_id}"] = "required"
            continue
        try:
            out[item.link_id] = _value(item, answers[item.link_id])
        except InvalidInput as bad:
            errors[bad.field] = bad.reason
    if errors:
        raise FormInvalid(errors)
    return out


def wrong(spec: QuestionnaireSpec, answers: Mapping[str, Any]) -> list[str]:
    """linkIds of the knowledge questions not answered as the program's answer (unanswered: wrong)."""
    return [item.link_id for item in spec.knowledge_items if answers.get(item.link_id) != item.correct]


def _response(ctx: Context, program: Program, spec: QuestionnaireSpec, subject_id: str,
              answers: Mapping[str, Any], missed: list[str]) -> FormResponse:
    stored = {k: v.isoformat() if isinstance(v, date) else v for k, v in answers.items()}
    return FormResponse(id=new_id("frm"), questionnaire_id=spec.id, program_id=program.id, form=spec.form,
                        subject_id=subject_id, submitted_at=ctx.now, actor=ctx.actor, passed=not missed,
                        wrong=missed, answers=stored)


def _fail(uow: UnitOfWork, ctx: Context, response: FormResponse, entity: str, rule: str) -> SurveyFailed:
    uow.add(response)
    audit(uow, ctx, entity, response.id, "fail", None, "failed",
          refs={"questionnaire": response.questionnaire_id, "subject": response.subject_id})
    uow.commit()
    return SurveyFailed(rule, response)


def _spec_for(uow: UnitOfWork, questionnaire_id: str, form: str, program_id: str) -> tuple[Program, QuestionnaireSpec]:
    program, spec = find(uow.programs, questionnaire_id)
    if spec.form != form:
        raise InvalidInput("questionnaire", f"{questionnaire_id} is a {spec.form} form, not a {form} form")
    if program.id != program_id:
        raise InvalidInput("questionnaire", f"{questionnaire_id} is a form of {program.id}, not of {program_id}")
    return program, spec


def submit_patient_survey(uow: UnitOfWork, ctx: Context, questionnaire_id: str, cmd: RecordPatientSurvey,
                          answers: Mapping[str, Any]) -> PatientSurvey:
    """R20, R6: graded answers; a pass records the survey through patients.record_patient_survey."""
    patient = uow.get(Patient, cmd.patient_id)
    program, spec = _spec_for(uow, questionnaire_id, "patient_survey", patient.program_id)
    given = checked(spec, answers)
    missed = wrong(spec, given)
    response = _response(ctx, program, spec, patient.id, given, missed)
    if missed:
        program_status.refuse_if_eliminated(uow, ctx, patient.program_id, "record patient survey")
        raise _fail(uow, ctx, response, "patient_survey", "R20")
    uow.add(response)  # committed with the survey
    return patients.record_patient_survey(uow, ctx, cmd)


def patient_form(uow: UnitOfWork, ctx: Context, patient: Patient) -> QuestionnaireSpec | None:
    """The program's patient survey questionnaire, if it applies to the patient's category (T1)."""
    program = uow.program(patient.program_id)
    spec = form_of(program, "patient_survey")
    if spec is None or (spec.applies_to is not None
                        and schedule.current_category(patient, program, ctx.now) not in spec.applies_to):
        return None
    return spec


def take_patient_survey(uow: UnitOfWork, ctx: Context, cmd: RecordPatientSurvey,
                        answers: Mapping[str, Any] | None) -> PatientSurvey:
    """R20, R6 for the API and the dashboard: where the program declares the patient survey's
    questions, the answers are required and graded as `$submit` grades them; where it declares none,
    there is nothing to answer and the survey is recorded as before."""
    patient = uow.get(Patient, cmd.patient_id)
    spec = patient_form(uow, ctx, patient)
    if spec is None:
        if answers:
            raise InvalidInput("answers", f"program {patient.program_id} declares no patient survey questions")
        return patients.record_patient_survey(uow, ctx, cmd)
    if answers is None:
        raise InvalidInput("answers", f"required: the answers to questionnaire {spec.id} "
                           f"(GET /fhir/r4/Questionnaire/{spec.id}/$questionnaire-package)")
    return submit_patient_survey(uow, ctx, spec.id, cmd, answers)


def submit_prescriber_survey(uow: UnitOfWork, ctx: Context, questionnaire_id: str, prescriber_id: str,
                             answers: Mapping[str, Any]) -> Outcome:
    """R19: the survey for the prescription the form names (the prescriber's own only)."""
    program, spec = find(uow.programs, questionnaire_id)
    if spec.form != "prescriber_survey":
        raise InvalidInput("questionnaire", f"{questionnaire_id} is a {spec.form} form, not a prescriber survey")
    given = checked(spec, answers)
    link = next(i.link_id for i in spec.items if i.maps_to == "prescription_id")
    rx = uow.get(Prescription, str(given[link]))
    if rx.prescriber_id != prescriber_id:
        raise NotFound("prescription", rx.id)
    if rx.program_id != program.id:
        raise InvalidInput(f"answers.{link}", f"the prescription is in {rx.program_id}, not {program.id}")
    missed = wrong(spec, given)
    response = _response(ctx, program, spec, rx.id, given, missed)
    if missed:
        raise _fail(uow, ctx, response, "prescriber_survey", "R19")
    uow.add(response)
    return prescriptions.record_prescriber_survey(uow, ctx, rx.id, prescriber_id)


def _enrollment_fields(spec: QuestionnaireSpec, given: Mapping[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for item in spec.items:
        if item.maps_to is None:
            continue
        head, _, tail = item.maps_to.partition(".")
        if tail:
            data.setdefault(head, {})
            if item.link_id in given:
                data[head][tail] = given[item.link_id]
            elif head == "facts" and tail == "postmenopausal_since":
                data[head][tail] = None  # optional on the form: not postmenopausal
        elif item.link_id in given:
            data[head] = given[item.link_id]
    return data


def submit_enrollment(uow: UnitOfWork, ctx: Context, questionnaire_id: str, prescriber_id: str,
                      answers: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> Patient:
    """R5-R8: the PPAF of one risk category becomes patients.enroll_patient. `extra`: command
    fields the form does not ask (the dashboard's identifier, R34), never one an item fills."""
    program, spec = find(uow.programs, questionnaire_id)
    if spec.form != "enrollment" or spec.applies_to is None:
        raise InvalidInput("questionnaire", f"{questionnaire_id} is a {spec.form} form, not an enrollment")
    given = checked(spec, answers)
    refused = wrong(spec, given)
    if refused:  # an agreement the PPAF needs was not given: nothing is recorded
        raise InvalidInput(f"answers.{refused[0]}", "the PPAF needs this agreement (R5): not enrolled")
    data = {**(extra or {}), **_enrollment_fields(spec, given)}
    [category] = spec.applies_to
    data["ppaf"] = {**data.get("ppaf", {}), "category": category}
    if data.get("sex") == "male":
        data.pop("facts", None)
    try:
        cmd = parse(EnrollPatient, program_id=program.id, prescriber_id=prescriber_id, **data)
        patient = patients.enroll_patient(uow, ctx, cmd)
    except InvalidInput as bad:  # name the form's item, not the command's field
        item = next((i for i in spec.items if i.maps_to and bad.field.startswith(i.maps_to)), None)
        raise InvalidInput(f"answers.{item.link_id}" if item else bad.field, bad.reason) from None
    uow.add(_response(ctx, program, spec, patient.id, given, []))
    uow.commit()
    return patient


def refuse_counselling(spec: QuestionnaireSpec) -> InvalidInput:
    return InvalidInput("questionnaire", f"{spec.id}: the counselling checklist is recorded with the dispense "
                        "(R27: the pharmacy counter or POST /v1/pharmacy/dispenses), not on its own")
