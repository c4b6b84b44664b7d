"""The administrator's pages: the certification queue (R1-R3, R25) and the audit trail of any record."""
# No `from __future__ import annotations`: FastAPI resolves the annotations at run time.

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import select
from starlette.responses import Response

from rems.domain.errors import DomainError, InvalidInput
from rems.domain.model import Pharmacy, Prescriber
from rems.services import certification, queries
from rems.services.uow import Context, UnitOfWork
from rems.web.diagram import diagram, edges
from rems.web.pages import Page, page, posted
from workflows.definitions import WORKFLOWS

router = APIRouter(prefix="/web/admin", include_in_schema=False)
Viewer = Annotated[Page, Depends(page("admin"))]
Poster = Annotated[Page, Depends(posted("admin"))]
KINDS: dict[str, certification.Kind] = {"prescribers": "prescriber", "pharmacies": "pharmacy"}
# What the queue offers; revoke, lapse and recertify stay with the API and CLI (`rems prescriber …`).
QUEUE_TRIGGERS = ("certify", "suspend", "reinstate")
# Waiting for a decision first: newly enrolled, then suspended, then the rest.
_ORDER = {"enrolled": 0, "suspended": 1, "lapsed": 2, "certified": 3, "revoked": 4}
ENTITIES = ("prescriber", "pharmacy", "patient", "pregnancy_testing", "prescription", "confirmation",
            "pregnancy_test", "patient_survey", "pregnancy_report", "api", "api_token", "gate", "notification",
            "person")
_WORKFLOW_OF = {"pregnancy_testing": "pregnancy_testing", "patient": "patient", "prescriber": "prescriber",
                "pharmacy": "pharmacy", "prescription": "prescription", "confirmation": "confirmation"}


def _actions(kind: str, state: str) -> list[str]:
    return sorted({e.trigger for e in edges(WORKFLOWS[kind]) if e.source == state and e.trigger in QUEUE_TRIGGERS},
                  key=QUEUE_TRIGGERS.index)


def _queue(uow: UnitOfWork, ctx: Context) -> dict[str, Any]:
    """R1, R25: one queue per program; a holder not yet certified in a program is "enrolled" there."""
    holders: dict[str, list[Prescriber | Pharmacy]] = {
        "prescribers": list(uow.session.scalars(select(Prescriber))),
        "pharmacies": list(uow.session.scalars(select(Pharmacy)))}
    programs: list[dict[str, Any]] = []
    for program_id in sorted(uow.programs):
        found: dict[str, Any] = {"id": program_id, "name": uow.programs[program_id].name}
        for plural, records in holders.items():
            held = {c.holder_id: c for c in uow.certifications(KINDS[plural], program_id=program_id)}
            rows = [(r, held.get(r.id)) for r in records]
            rows.sort(key=lambda rc: (_ORDER.get(rc[1].state if rc[1] else "enrolled", 9),
                                      rc[0].enrolled_at, rc[0].id))
            found[plural] = [(r, c, _actions(KINDS[plural], c.state if c else "enrolled")) for r, c in rows]
        programs.append(found)
    return {"programs": programs}


@router.get("")
def queue(pg: Viewer) -> Response:
    return pg.render("admin/queue.html", pg.run(_queue))


@router.post("/{plural}/{record_id}/{trigger}")
def change(plural: str, record_id: str, trigger: str, pg: Poster) -> Response:
    """Certify, suspend or reinstate in one program (the form's program_id), audited; suspending a
    prescriber voids their authorizations in that program (R3)."""
    try:
        if plural not in KINDS:
            raise InvalidInput("kind", "prescribers or pharmacies")
        if trigger not in QUEUE_TRIGGERS:
            raise InvalidInput("trigger", f"one of {', '.join(QUEUE_TRIGGERS)}")
        program_id = certification.program_of(pg.app.programs, pg.form.opt("program_id"),
                                              pg.app.settings.default_program)
        cert = pg.run(certification.change_certification, KINDS[plural], record_id, trigger, program_id)
    except DomainError as error:
        return pg.failed("admin/queue.html", pg.run(_queue), error)
    return pg.redirect(f"/web/admin#{cert.program_id}-{cert.holder_id}")


@router.get("/audit")
def audit(pg: Viewer, entity: str = "", entity_id: str = "") -> Response:
    context: dict[str, Any] = {"entities": ENTITIES, "values": {"entity": entity, "entity_id": entity_id}}
    if not entity_id:
        return pg.render("admin/audit.html", context)
    try:
        if entity not in ENTITIES:
            raise InvalidInput("entity", f"one of {', '.join(ENTITIES)}")
        if len(entity_id) > 40:
            raise InvalidInput("entity_id", "40 characters at most")
        trail = pg.run(queries.audit_trail, entity, entity_id)
    except DomainError as error:
        return pg.failed("admin/audit.html", context, error, missing="entity_id")
    workflow = _WORKFLOW_OF.get(entity)
    current = next((a.to_state for a in reversed(trail) if a.to_state), None)  # the record's state now
    context.update(trail=trail, diagram=diagram(workflow, current) if workflow else None)
    return pg.render("admin/audit.html", context)
