"""The patient's page: their own survey (R20), answered by a parent or guardian for a child (R6).

When the program declares the patient survey as a questionnaire (issue 16 item 3), the page shows
its questions and the answers go through the same service as FHIR `$submit`
(rems/services/questionnaires.py, then patients.record_patient_survey): a wrong answer to a
knowledge question records a failed survey that does not count. Otherwise one button records it.
"""
# No `from __future__ import annotations`: FastAPI resolves the annotations at run time.

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from rems.domain import schedule
from rems.domain.errors import DomainError
from rems.domain.model import Patient
from rems.services import patients, questionnaires
from rems.services.commands import RecordPatientSurvey, parse
from rems.services.uow import Context, UnitOfWork
from rems.web.pages import Form, Page, page, posted
from rems.web.zones import patient_zone
from workflows.questionnaires import QuestionnaireSpec

router = APIRouter(prefix="/web/patient", include_in_schema=False)
Viewer = Annotated[Page, Depends(page("patient"))]
Poster = Annotated[Page, Depends(posted("patient"))]


def _form(uow: UnitOfWork, ctx: Context, patient: Patient) -> QuestionnaireSpec | None:
    """The program's patient survey questionnaire, if it applies to the patient's category."""
    program = uow.program(patient.program_id)
    spec = questionnaires.form_of(program, "patient_survey")
    if spec is None or (spec.applies_to is not None
                        and schedule.current_category(patient, program, ctx.now) not in spec.applies_to):
        return None
    return spec


def _surveys(uow: UnitOfWork, ctx: Context, patient_id: str) -> dict[str, Any]:
    patient = uow.get(Patient, patient_id)
    zone = patient_zone(uow, patient)  # T1: the patient's own zone
    spec = _form(uow, ctx, patient)
    choices = {i.link_id: [(o, o) for o in i.options] for i in spec.items} if spec else {}
    return {"surveys": list(reversed(uow.patient_surveys(patient_id))), "zone": zone,
            "questionnaire": spec, "choices": choices}


def _answers(spec: QuestionnaireSpec, form: Form) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in spec.items:
        value = form.opt(f"answers.{item.link_id}")
        if value is None or item.type == "display":
            continue
        out[item.link_id] = {"true": True, "false": False}.get(value, value) if item.type == "boolean" else value
    return out


def _record(uow: UnitOfWork, ctx: Context, cmd: RecordPatientSurvey, form: Form) -> None:
    spec = _form(uow, ctx, uow.get(Patient, cmd.patient_id))
    if spec is None:
        patients.record_patient_survey(uow, ctx, cmd)
    else:
        questionnaires.submit_patient_survey(uow, ctx, spec.id, cmd, _answers(spec, form))


@router.get("")
def home(pg: Viewer) -> Response:
    return pg.render("patient/home.html", {**pg.run(_surveys, pg.actor_id), "values": {}})


@router.post("/survey")
def survey(pg: Poster) -> Response:
    try:
        pg.form.check()
        cmd = parse(RecordPatientSurvey, patient_id=pg.actor_id,
                    respondent=pg.form.opt("respondent") or "patient")
        pg.run(_record, cmd, pg.form)
    except DomainError as error:
        return pg.failed("patient/home.html", {**pg.run(_surveys, pg.actor_id), "values": pg.form.values},
                         error)
    return pg.redirect("/web/patient")
