"""The patient's page: their own survey (R20), answered by a parent or guardian for a child (R6).

When the program declares the patient survey as a questionnaire (issue 16 item 3), the page shows
its questions and the answers go through the same service as FHIR `$submit`
(rems/services/questionnaires.take_patient_survey, as the API's POST /v1/patient/survey): a wrong
answer to a knowledge question records a failed survey that does not count, and every question to
review is marked (rems/web/forms.py). Otherwise one button records it.
"""
# No `from __future__ import annotations`: FastAPI resolves the annotations at run time.

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from rems.domain.errors import DomainError
from rems.domain.model import Patient
from rems.services import questionnaires
from rems.services.commands import RecordPatientSurvey, parse
from rems.services.context import Context
from rems.services.ports import UnitOfWork
from rems.web import forms
from rems.web.pages import Form, Page, page, posted
from rems.web.zones import patient_zone

router = APIRouter(prefix="/web/patient", include_in_schema=False)
Viewer = Annotated[Page, Depends(page("patient"))]
Poster = Annotated[Page, Depends(posted("patient"))]


def _surveys(uow: UnitOfWork, ctx: Context, patient_id: str) -> dict[str, Any]:
    patient = uow.get(Patient, patient_id)
    zone = patient_zone(uow, patient)  # T1: the patient's own zone
    spec = questionnaires.patient_form(uow, ctx, patient)
    return {"surveys": list(reversed(uow.patients.surveys(patient_id))), "zone": zone, "questionnaire": spec}


def _record(uow: UnitOfWork, ctx: Context, cmd: RecordPatientSurvey, form: Form) -> None:
    spec = questionnaires.patient_form(uow, ctx, uow.get(Patient, cmd.patient_id))
    questionnaires.take_patient_survey(uow, ctx, cmd, forms.answers_of(spec, form) if spec else None)


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
        return forms.failed(pg, "patient/home.html", {**pg.read(_surveys, pg.actor_id),
                                                      "values": pg.form.values}, error)
    return pg.redirect("/web/patient")
