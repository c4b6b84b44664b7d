"""The administrator's patient decisions (R34, R35): transfer to another prescriber, readmission
after a pregnancy stop, correction of a recorded reproductive fact; each audited (ids only)."""
# No `from __future__ import annotations`: FastAPI resolves the annotations at run time.

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends
from starlette.responses import Response

from rems.domain.errors import DomainError
from rems.services.commands import CorrectFacts, DecideReadmission, TransferPatient, parse
from rems.services.enrollment import persons
from rems.web.pages import Page, page, posted
from rems.web.prescriber import stated_facts

router = APIRouter(prefix="/web/admin/patients", include_in_schema=False)
Viewer = Annotated[Page, Depends(page("admin"))]
Poster = Annotated[Page, Depends(posted("admin"))]
PAGE = "admin/patients.html"


def _context(form_name: str = "", values: dict[str, str] | None = None, done: str = "") -> dict[str, Any]:
    return {"form_name": form_name, "values": values or {}, "done": done}


@router.get("")
def decisions(pg: Viewer, done: str = "") -> Response:
    return pg.render(PAGE, _context(done=done[:200]))


def _decide(pg: Poster, form_name: str, run: Any) -> Response:
    try:
        pg.form.check()
        message = run(pg)
    except DomainError as error:
        return pg.failed(PAGE, _context(form_name, pg.form.values), error)
    return pg.redirect(f"/web/admin/patients?done={quote(message)}")


def _transfer(pg: Page) -> str:
    form = pg.form
    done = pg.run(persons.transfer_patient, parse(
        TransferPatient, patient_id=form.text("patient_id").strip(),
        to_prescriber_id=form.text("to_prescriber_id").strip()))
    return (f"Patient {done.patient.id} transferred from {done.from_prescriber_id} to "
            f"{done.patient.prescriber_id}; {done.voided_authorizations} open authorization(s) of the "
            "previous prescriber voided.")


def _readmit(pg: Page) -> str:
    form = pg.form
    decision = pg.run(persons.decide_readmission, parse(
        DecideReadmission, patient_id=form.text("patient_id").strip(), program_id=form.opt("program_id"),
        reason=form.text("reason").strip()))
    return (f"Readmission decision {decision.id} recorded: person {decision.person_id} may be enrolled "
            f"again in {decision.program_id}.")


def _correct(pg: Page) -> str:
    form = pg.form
    patient = pg.run(persons.correct_facts, parse(
        CorrectFacts, patient_id=form.text("patient_id").strip(), facts=stated_facts(form) or {},
        reason=form.text("reason").strip()))
    return f"Facts of patient {patient.id} corrected; a new PPAF may be needed (R8)."


@router.post("/transfer")
def transfer(pg: Poster) -> Response:
    return _decide(pg, "transfer", _transfer)


@router.post("/readmission")
def readmission(pg: Poster) -> Response:
    return _decide(pg, "readmission", _readmit)


@router.post("/facts")
def correct_facts(pg: Poster) -> Response:
    return _decide(pg, "facts", _correct)
