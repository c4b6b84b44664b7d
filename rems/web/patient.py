"""The patient's page: their own survey (R20), answered by a parent or guardian for a child (R6)."""
# No `from __future__ import annotations`: FastAPI resolves the annotations at run time.

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from rems.domain.errors import DomainError
from rems.domain.model import Patient
from rems.services import patients
from rems.services.commands import RecordPatientSurvey, parse
from rems.services.uow import Context, UnitOfWork
from rems.web.pages import Page, page, posted
from rems.web.zones import patient_zone

router = APIRouter(prefix="/web/patient", include_in_schema=False)
Viewer = Annotated[Page, Depends(page("patient"))]
Poster = Annotated[Page, Depends(posted("patient"))]


def _surveys(uow: UnitOfWork, ctx: Context, patient_id: str) -> dict[str, Any]:
    zone = patient_zone(uow, uow.get(Patient, patient_id))  # T1: the patient's own zone
    return {"surveys": list(reversed(uow.patient_surveys(patient_id))), "zone": zone}


@router.get("")
def home(pg: Viewer) -> Response:
    return pg.render("patient/home.html", {**pg.run(_surveys, pg.actor_id), "values": {}})


@router.post("/survey")
def survey(pg: Poster) -> Response:
    try:
        pg.form.check()
        cmd = parse(RecordPatientSurvey, patient_id=pg.actor_id,
                    respondent=pg.form.opt("respondent") or "patient")
        pg.run(patients.record_patient_survey, cmd)
    except DomainError as error:
        return pg.failed("patient/home.html", {**pg.run(_surveys, pg.actor_id), "values": pg.form.values},
                         error)
    return pg.redirect("/web/patient")
