"""The pharmacist's pages (issue 18.1): the ETASU check of an authorization number, showing whom
and what it authorizes, the confirmation, the dispense, the worklist, the history, the receipt.

Every requirement is shown met or unmet with its rule id (R1-R36), the unmet first in plain words
with who must act and when at the earliest; a confirmation is issued only while all hold (R26),
and the dispense needs each item of the counselling checklist (R29) inside R27's window.
"""
# No `from __future__ import annotations`: FastAPI resolves the annotations at run time.

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from rems.domain.errors import DomainError, Refused
from rems.domain.model import Patient, Prescription
from rems.domain.requirements import Decision
from rems.services.commands import PharmacyRequest, RecordDispense, parse
from rems.services.context import Context
from rems.services.dispensing import prescriptions
from rems.services.enrollment import contacts
from rems.services.ports import UnitOfWork
from rems.services.views import queries, web_queries
from rems.web import plain
from rems.web.diagram import diagram
from rems.web.pages import Page, page, posted
from rems.web.zones import patient_zone

router = APIRouter(prefix="/web/pharmacy", include_in_schema=False)
Viewer = Annotated[Page, Depends(page("pharmacy"))]
Poster = Annotated[Page, Depends(posted("pharmacy"))]
TEMPLATE = "pharmacy/home.html"


def _worklist(uow: UnitOfWork, ctx: Context, pharmacy_id: str) -> list[dict[str, Any]]:
    """R26, R27: each open confirmation with its time left, in its patient's zone (T1)."""
    return [{"open": o, "zone": patient_zone(uow, o.patient), "left": plain.time_left(o.left)}
            for o in web_queries.worklist(uow, ctx, pharmacy_id)]


def _context(pg: Page, **extra: Any) -> dict[str, Any]:
    me, certifications = pg.run(queries.pharmacy, pg.actor_id)  # R25: per program
    state = certifications[0].state if certifications else "enrolled"
    return {"me": me, "certifications": certifications, "values": pg.form.values,
            "diagram": diagram("pharmacy", state), "worklist": pg.read(_worklist, pg.actor_id),
            "plain": plain, **extra}


def _summary(uow: UnitOfWork, ctx: Context, number: str) -> dict[str, Any]:
    """What the pharmacist verifies at the counter: patient, prescriber, drug and supply (R22, R24)."""
    rx, patient, prescriber = web_queries.authorization_of(uow, ctx, number)
    return {"rx": rx, "patient": patient, "prescriber": prescriber, "drug": uow.program(rx.program_id).drug,
            "program": uow.program(rx.program_id).name, "zone": patient_zone(uow, patient),
            "office": contacts.of(uow, "prescriber", prescriber.id)}  # issue 18: to call the office


def _zone(uow: UnitOfWork, ctx: Context, prescription_id: str) -> str:
    """T1: a confirmation's or a dispense's times in the patient's zone (the screen names it)."""
    return patient_zone(uow, uow.get(Patient, uow.get(Prescription, prescription_id).patient_id))


def _request(pg: Page) -> PharmacyRequest:
    pg.form.check()
    return parse(PharmacyRequest, number=pg.form.text("number"), pharmacy_id=pg.actor_id,
                 patient_id=pg.form.opt("patient_id"))


def _decided(pg: Page, decision: Decision, summary: dict[str, Any]) -> dict[str, Any]:
    unmet, met = plain.unmet_first(decision.requirements, summary["zone"])
    return {"decision": decision, "unmet": unmet, "met": met, "summary": summary}


@router.get("")
def home(pg: Viewer, dispense: str = "") -> Response:
    """The worklist and the check; `dispense` (a confirmation number) opens its dispense form."""
    return pg.render(TEMPLATE, _context(pg, pending=dispense.strip()[:40]))


@router.post("/check")
def check(pg: Poster) -> Response:
    """Read-only: what obtaining a confirmation would decide now, every requirement listed."""
    try:
        request = _request(pg)
        decision = pg.read(prescriptions.check, request)  # the check only reads
        summary = pg.read(_summary, request.number)
    except DomainError as error:
        return pg.failed(TEMPLATE, _context(pg), error, missing="number")
    return pg.render(TEMPLATE, _context(pg, **_decided(pg, decision, summary)))


@router.post("/confirmations")
def confirm(pg: Poster) -> Response:
    try:
        confirmation = pg.run(prescriptions.obtain_confirmation, _request(pg))
    except DomainError as error:
        return pg.failed(TEMPLATE, _context(pg), error, missing="number")
    summary = pg.read(_summary, pg.form.text("number"))
    return pg.render(TEMPLATE, _context(pg, confirmation=confirmation, confirmation_diagram=diagram(
        "confirmation", confirmation.state), zone=summary["zone"], summary=summary), 201)


def _missing_items(pg: Page) -> list[str]:
    """R29: each checklist item the form did not tick, named."""
    return [text for name, text in plain.CHECKLIST.items() if not pg.form.flag(name)]


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
        extra: dict[str, Any] = {"pending": form.text("confirmation_number")}
        if isinstance(error, Refused) and any(f.rule == "R29" for f in error.failures):
            extra["missing_checklist"] = _missing_items(pg)
        return pg.failed(TEMPLATE, _context(pg, **extra), error, missing="confirmation_number")
    return pg.render(TEMPLATE, _context(pg, dispensed=done, dispensed_number=cmd.confirmation_number,
                                        zone=pg.run(_zone, done.prescription_id)), 201)


def _history(uow: UnitOfWork, ctx: Context, pharmacy_id: str, search: str,
             paging: web_queries.Paging) -> dict[str, Any]:
    found = web_queries.dispenses_page(uow, ctx, pharmacy_id, search, paging)
    zones = {row[3].id: patient_zone(uow, row[3]) for row in found.rows}  # T1: each patient's zone
    return {"listing": found, "zones": zones}


@router.get("/dispenses")
def history(pg: Viewer, q: str = "", page: str = "1", size: str = "") -> Response:
    """R33: the pharmacy's dispenses, newest first, searched and paged in SQL."""
    paging = web_queries.paging_of(page, size)
    found = pg.run(_history, pg.actor_id, q.strip(), paging)
    return pg.render("pharmacy/history.html", {
        **found, "q": q.strip(), "plain": plain, "sizes": web_queries.PAGE_SIZES,
        "query": {"q": q.strip(), "size": paging.size}})


def _receipt(uow: UnitOfWork, ctx: Context, pharmacy_id: str, number: str) -> dict[str, Any]:
    found = web_queries.receipt(uow, ctx, pharmacy_id, number)
    me, _ = queries.pharmacy(uow, ctx, pharmacy_id)
    program = uow.program(found.prescription.program_id)
    return {"r": found, "me": me, "drug": program.drug, "program": program.name,
            "zone": patient_zone(uow, found.patient)}


@router.get("/receipts/{confirmation_number}")
def receipt(confirmation_number: str, pg: Viewer) -> Response:
    """A printable record of the confirmation (R26, R27) and, once made, its dispense (R29, R33)."""
    try:
        context = pg.run(_receipt, pg.actor_id, confirmation_number)
    except DomainError as error:
        return pg.failed("error.html", {}, error)
    return pg.render("pharmacy/receipt.html", {**context, "plain": plain})
