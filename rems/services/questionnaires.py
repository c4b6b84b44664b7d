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

from rems.domain.errors import InvalidInput, NotFound
from rems.domain.model import FormResponse, Patient, PatientSurvey, Prescription
from rems.services import patients, prescriptions, program_status
from rems.services.commands import EnrollPatient, RecordPatientSurvey, parse
from rems.services.lifecycle import audit, new_id
from rems.services.prescriptions import Outcome
from rems.services.uow import Context, UnitOfWork
from workflows.program import Program
from workflows.questionnaires import ItemSpec, QuestionnaireSpec

MAX_TEXT = 500
FAILED = "wrong answer to a knowledge question: the survey is recorded as failed and does not count"


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
    """The answers, each of its item's type; unknown linkIds and missing required ones named."""
    for link_id in answers:
        if spec.item(link_id) is None:
            raise InvalidInput(f"answers.{link_id}", f"no such item in questionnaire {spec.id}")
    out: dict[str, Any] = {}
    for item in spec.items:
        if answers.get(item.link_id) is None:
            if item.required:
                raise InvalidInput(f"answers.{item.link_id}", "required")
            continue
        out[item.link_id] = _value(item, answers[item.link_id])
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


def _fail(uow: UnitOfWork, ctx: Context, response: FormResponse, entity: str, rule: str) -> InvalidInput:
    uow.add(response)
    audit(uow, ctx, entity, response.id, "fail", None, "failed",
          refs={"questionnaire": response.questionnaire_id, "subject": response.subject_id})
    uow.commit()
    return InvalidInput(f"answers.{response.wrong[0]}", f"{FAILED} ({rule}); wrong: {', '.join(response.wrong)}")


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
                      answers: Mapping[str, Any]) -> Patient:
    """R5-R8: the PPAF of one risk category becomes patients.enroll_patient."""
    program, spec = find(uow.programs, questionnaire_id)
    if spec.form != "enrollment" or spec.applies_to is None:
        raise InvalidInput("questionnaire", f"{questionnaire_id} is a {spec.form} form, not an enrollment")
    given = checked(spec, answers)
    refused = wrong(spec, given)
    if refused:  # an agreement the PPAF needs was not given: nothing is recorded
        raise InvalidInput(f"answers.{refused[0]}", "the PPAF needs this agreement (R5): not enrolled")
    data = _enrollment_fields(spec, given)
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
