"""The pharmacist's pages: the ETASU check of an authorization number, the confirmation, the dispense.

Every requirement is shown met or unmet with its rule id (R1-R30); a confirmation is issued only
while all hold (R26), and the dispense needs the counselling checklist (R29) inside R27's window.
"""
# No `from __future__ import annotations`: FastAPI resolves the annotations at run time.

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from rems.domain.errors import DomainError
from rems.domain.model import Patient, Prescription
from rems.services import prescriptions, queries
from rems.services.commands import PharmacyRequest, RecordDispense, parse
from rems.services.uow import Context, UnitOfWork
from rems.web.diagram import diagram
from rems.web.pages import Page, page, posted
from rems.web.zones import patient_zone

router = APIRouter(prefix="/web/pharmacy", include_in_schema=False)
Viewer = Annotated[Page, Depends(page("pharmacy"))]
Poster = Annotated[Page, Depends(posted("pharmacy"))]
TEMPLATE = "pharmacy/home.html"


def _context(pg: Page, **extra: Any) -> dict[str, Any]:
    me, certifications = pg.run(queries.pharmacy, pg.actor_id)  # R25: per program
    state = certifications[0].state if certifications else "enrolled"
    return {"me": me, "certifications": certifications, "values": pg.form.values,
            "diagram": diagram("pharmacy", state), **extra}


def _zone(uow: UnitOfWork, ctx: Context, prescription_id: str) -> str:
    """T1: a confirmation's or a dispense's times in the patient's zone (the screen names it)."""
    return patient_zone(uow, uow.get(Patient, uow.get(Prescription, prescription_id).patient_id))


def _request(pg: Page) -> PharmacyRequest:
    pg.form.check()
    return parse(PharmacyRequest, number=pg.form.text("number"), pharmacy_id=pg.actor_id,
                 patient_id=pg.form.opt("patient_id"))


@router.get("")
def home(pg: Viewer) -> Response:
    return pg.render(TEMPLATE, _context(pg))


@router.post("/check")
def check(pg: Poster) -> Response:
    """Read-only: what obtaining a confirmation would decide now, every requirement listed."""
    try:
        decision = pg.run(prescriptions.check, _request(pg), write=False)  # the check only reads
    except DomainError as error:
        return pg.failed(TEMPLATE, _context(pg), error, missing="number")
    return pg.render(TEMPLATE, _context(pg, decision=decision))


@router.post("/confirmations")
def confirm(pg: Poster) -> Response:
    try:
        confirmation = pg.run(prescriptions.obtain_confirmation, _request(pg))
    except DomainError as error:
        return pg.failed(TEMPLATE, _context(pg), error, missing="number")
    return pg.render(TEMPLATE, _context(pg, confirmation=confirmation, confirmation_diagram=diagram(
        "confirmation", confirmation.state), zone=pg.run(_zone, confirmation.prescription_id)), 201)


@router.post("/dispenses")
def dispense(pg: Poster) -> Response:
    form = pg.form
    try:
        form.check()
        cmd = parse(RecordDispense, confirmation_number=form.text("confirmation_number"),
                    pharmacy_id=pg.actor_id, counselled=form.flag("counselled"),
                    education_checklist_completed=form.flag("education_checklist_completed"),
                    medication_guide_given=form.flag("medication_guide_given"))
        done = pg.run(prescriptions.record_dispense, cmd)
    except DomainError as error:
        return pg.failed(TEMPLATE, _context(pg, pending=form.text("confirmation_number")), error,
                         missing="confirmation_number")
    return pg.render(TEMPLATE, _context(pg, dispensed=done, zone=pg.run(_zone, done.prescription_id)), 201)
