"""Issue 16 item 3: the dashboard's forms drawn from the program's Questionnaires (the program file's
workflows/programs/questionnaires/), answered through the services FHIR `$submit` uses
(rems/services/questionnaires.py), so the web, the API and FHIR grade and record alike.

The prescriber survey (R19) of one prescription and the PPAF of one risk category (R5-R8) are pages
of their own here; the patient's survey page (rems/web/patient.py) shares the answers reader and the
error mapping. A program that declares no such form keeps the one-button survey (nothing to ask).
"""
# No `from __future__ import annotations`: FastAPI resolves the annotations at run time.

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from rems.domain.errors import DomainError, InvalidInput, NotFound
from rems.domain.model import Patient, Prescription
from rems.services import questionnaires as forms
from rems.services.commands import RequestAuthorization
from rems.services.context import Context
from rems.services.dispensing import prescriptions
from rems.services.ports import UnitOfWork
from rems.web.pages import Form, Page, page, posted
from workflows.questionnaires import PRESCRIPTION_FIELD, QuestionnaireSpec

router = APIRouter(prefix="/web/prescriber", include_in_schema=False)
Viewer = Annotated[Page, Depends(page("prescriber"))]
Poster = Annotated[Page, Depends(posted("prescriber"))]
_BOOLEAN = {"true": True, "false": False}


def answers_of(spec: QuestionnaireSpec, form: Form, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The posted `answers.<linkId>` fields as the service reads them (a boolean as true/false);
    an empty field is unanswered (the service names it if required)."""
    out: dict[str, Any] = {}
    for item in spec.items:
        value = form.opt(f"answers.{item.link_id}")
        if value is None or item.type == "display" or item.link_id in skip:
            continue
        out[item.link_id] = _BOOLEAN.get(value, value) if item.type == "boolean" else value
    return out


def failed(pg: Page, template: str, context: dict[str, Any], error: DomainError) -> Response:
    """The form again, every bad or wrong answer beside its own question (a wrong knowledge answer
    says to review it, never what the right one is)."""
    if isinstance(error, forms.FormInvalid):
        return pg.render(template, {**context, "errors": error.errors}, 422)
    return pg.failed(template, context, error)


# -- the prescriber survey of one prescription (R19) -------------------------------------------
def survey_form(uow: UnitOfWork, program_id: str) -> QuestionnaireSpec | None:
    return forms.form_of(uow.program(program_id), "prescriber_survey")


def request_unsurveyed(uow: UnitOfWork, ctx: Context, cmd: RequestAuthorization) -> prescriptions.Outcome:
    """The request form's "survey done" box counts only where the program asks no survey questions:
    where it does, the survey is answered on its own page (R19), as `$submit` takes it."""
    if cmd.prescriber_survey_completed and survey_form(uow, uow.get(Patient, cmd.patient_id).program_id):
        cmd = cmd.model_copy(update={"prescriber_survey_completed": False})
    return prescriptions.request_authorization(uow, ctx, cmd)


def _survey(uow: UnitOfWork, ctx: Context, prescription_id: str, prescriber_id: str) -> dict[str, Any]:
    rx = uow.get(Prescription, prescription_id)
    if rx.prescriber_id != prescriber_id:
        raise NotFound("prescription", prescription_id)  # R5: another's is not found (audited)
    spec = survey_form(uow, rx.program_id)
    fixed = next((i.link_id for i in spec.items if i.maps_to == PRESCRIPTION_FIELD), "") if spec else ""
    return {"rx": rx, "patient": uow.get(Patient, rx.patient_id), "questionnaire": spec, "fixed": fixed}


def _record_survey(uow: UnitOfWork, ctx: Context, prescription_id: str, prescriber_id: str,
                   form: Form) -> prescriptions.Outcome:
    context = _survey(uow, ctx, prescription_id, prescriber_id)
    spec = context["questionnaire"]
    if spec is None:
        return prescriptions.record_prescriber_survey(uow, ctx, prescription_id, prescriber_id)
    answers = {**answers_of(spec, form, skip=(context["fixed"],)), context["fixed"]: prescription_id}
    return forms.submit_prescriber_survey(uow, ctx, spec.id, prescriber_id, answers)


@router.get("/prescriptions/{prescription_id}/survey")
def survey_page(prescription_id: str, pg: Viewer) -> Response:
    try:
        context = pg.run(_survey, prescription_id, pg.actor_id)
    except DomainError as error:
        return pg.failed("error.html", {}, error)
    return pg.render("prescriber/survey.html", {**context, "values": {}})


@router.post("/prescriptions/{prescription_id}/survey")
def prescriber_survey(prescription_id: str, pg: Poster) -> Response:
    """R19: the survey for a pending prescription; the number issues if every other gate holds."""
    try:
        pg.form.check()
        outcome = pg.run(_record_survey, prescription_id, pg.actor_id, pg.form)
    except NotFound as error:
        return pg.failed("error.html", {}, error)
    except DomainError as error:
        try:
            context = pg.read(_survey, prescription_id, pg.actor_id)
        except DomainError as missing:
            return pg.failed("error.html", {}, missing)
        return failed(pg, "prescriber/survey.html", {**context, "values": pg.form.values}, error)
    rx = outcome.prescription
    return pg.redirect(f"/web/prescriber/patients/{rx.patient_id}?rx={rx.id}#result")


# -- the PPAF of one risk category (R5-R8) ------------------------------------------------------
def _ppafs(pg: Page) -> list[tuple[str, QuestionnaireSpec]]:
    return [(program_id, spec) for program_id, program in sorted(pg.app.programs.items())
            for spec in program.questionnaires if spec.form == "enrollment"]


def _ppaf(pg: Page, questionnaire_id: str) -> dict[str, Any]:
    program, spec = forms.find(pg.app.programs, questionnaire_id)
    if spec.form != "enrollment":
        raise NotFound("PPAF", questionnaire_id)
    return {"program": program, "questionnaire": spec}


@router.get("/ppaf")
def ppaf_list(pg: Viewer) -> Response:
    return pg.render("prescriber/ppaf_list.html", {"ppafs": _ppafs(pg)})


@router.get("/ppaf/{questionnaire_id}")
def ppaf_form(questionnaire_id: str, pg: Viewer) -> Response:
    try:
        context = _ppaf(pg, questionnaire_id)
    except NotFound as error:
        return pg.failed("error.html", {}, error)
    return pg.render("prescriber/ppaf.html", {**context, "values": {}})


def _identifiers(form: Form) -> list[dict[str, str]]:
    """R34: the page's own optional identifier (the PPAF does not ask it)."""
    system, value = form.opt("identifier.system"), form.opt("identifier.value")
    if bool(system) != bool(value):
        raise InvalidInput("identifier.value" if system else "identifier.system",
                           "give both the identifier and its system, or neither")
    return [{"system": system, "value": value}] if system and value else []


@router.post("/ppaf/{questionnaire_id}")
def ppaf_submit(questionnaire_id: str, pg: Poster) -> Response:
    """R5-R8: the PPAF's answers become the enrollment, as FHIR `$submit` makes it."""
    try:
        context = _ppaf(pg, questionnaire_id)
    except NotFound as error:
        return pg.failed("error.html", {}, error)
    spec = context["questionnaire"]
    try:
        pg.form.check()
        extra: dict[str, Any] = {"identifiers": _identifiers(pg.form)}
        if pg.form.opt("time_zone") and not any(i.maps_to == "time_zone" for i in spec.items):
            extra["time_zone"] = pg.form.opt("time_zone")
        patient = pg.run(forms.submit_enrollment, spec.id, pg.actor_id, answers_of(spec, pg.form), extra)
    except DomainError as error:
        return failed(pg, "prescriber/ppaf.html", {**context, "values": pg.form.values}, error)
    return pg.redirect(f"/web/prescriber/patients/{patient.id}")
