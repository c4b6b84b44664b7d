"""The administrator's pages: the certification queues per program (R1-R3, R25), searched and paged in
SQL, with a confirmation and a stated reason before a suspension or a revocation; the audit trail."""
# No `from __future__ import annotations`: FastAPI resolves the annotations at run time.

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from rems.domain.errors import Conflict, DomainError, InvalidInput
from rems.services.commands import Command, Reason, parse
from rems.services.context import Context
from rems.services.enrollment import certification
from rems.services.ports import UnitOfWork
from rems.services.views import queries, staff_queues
from rems.services.views.staff_queues import Slice
from rems.web.diagram import diagram, edges
from rems.web.pages import Page, page, posted
from workflows.definitions import WORKFLOWS

router = APIRouter(prefix="/web/admin", include_in_schema=False)
Viewer = Annotated[Page, Depends(page("admin"))]
Poster = Annotated[Page, Depends(posted("admin"))]
KINDS: dict[str, certification.Kind] = {"prescribers": "prescriber", "pharmacies": "pharmacy"}
PLURAL: dict[str, str] = {kind: plural for plural, kind in KINDS.items()}
# What the dashboard offers; lapse and recertify stay with the API and CLI (`rems prescriber …`).
QUEUE_TRIGGERS = ("certify", "suspend", "reinstate", "revoke")
CONFIRMED = ("suspend", "revoke")  # a second page, with a reason, before they apply (issue 18 item 3)
STATE_OPTIONS = [("", "every state")] + [(s, s) for s in staff_queues.STATES]
OVERVIEW_ROWS = 10  # per program and kind on the overview; the program's page has them all
ENTITIES = ("prescriber", "pharmacy", "patient", "pregnancy_testing", "prescription", "confirmation",
            "pregnancy_test", "patient_survey", "pregnancy_report", "api", "api_token", "gate", "notification",
            "person")
_WORKFLOW_OF = {"pregnancy_testing": "pregnancy_testing", "patient": "patient", "prescriber": "prescriber",
                "pharmacy": "pharmacy", "prescription": "prescription", "confirmation": "confirmation"}


class StatedReason(Command):  # R3, R25: why a certification is suspended or revoked (audited)
    reason: Reason


def actions(kind: str, state: str) -> list[str]:
    return sorted({e.trigger for e in edges(WORKFLOWS[kind]) if e.source == state and e.trigger in QUEUE_TRIGGERS},
                  key=QUEUE_TRIGGERS.index)


def _page_number(value: str) -> int:
    try:
        return int(value or "1")
    except ValueError:
        raise InvalidInput("page", "a page number from 1") from None


def _section(uow: UnitOfWork, ctx: Context, plural: str, program_id: str, part: Slice) -> dict[str, Any]:
    kind = KINDS[plural]
    found = staff_queues.certification_queue(uow, ctx, kind, program_id, part)
    rows = [(r, c, actions(kind, c.state if c else "enrolled")) for r, c in found.rows]
    return {"plural": plural, "rows": rows, "page": found}


def _overview(uow: UnitOfWork, ctx: Context, part: Slice) -> dict[str, Any]:
    """R1, R25: one queue per program; a holder not yet certified in a program is "enrolled" there."""
    return {"programs": [
        {"id": program_id, "name": uow.programs[program_id].name,
         "sections": [_section(uow, ctx, plural, program_id, part) for plural in KINDS]}
        for program_id in sorted(uow.programs)]}


def _search(q: str, state: str) -> dict[str, str]:
    return {"q": q[:100], "state": state[:20]}


@router.get("")
def queue(pg: Viewer, q: str = "", state: str = "") -> Response:
    context: dict[str, Any] = {"values": _search(q, state), "state_options": STATE_OPTIONS}
    try:
        context.update(pg.run(_overview, Slice(q.strip(), state, 1, OVERVIEW_ROWS)))
    except DomainError as error:
        context.update(pg.run(_overview, Slice(size=OVERVIEW_ROWS)))
        return pg.failed("admin/queue.html", context, error)
    return pg.render("admin/queue.html", context)


@router.get("/programs/{program_id}/{plural}")
def program_queue(program_id: str, plural: str, pg: Viewer, q: str = "", state: str = "",
                  page: str = "1") -> Response:
    """One program's certification view of one kind: counts by state, then every holder, paged."""
    if plural not in KINDS or program_id not in pg.app.programs:
        return pg.render("error.html", {"title": "Not found", "detail": "No such program or queue."}, 404)
    context: dict[str, Any] = {"values": _search(q, state), "state_options": STATE_OPTIONS,
                               "program": {"id": program_id, "name": pg.app.programs[program_id].name},
                               "kinds": list(KINDS)}
    try:
        part = Slice(q.strip(), state, _page_number(page))
        context["section"] = pg.run(_section, plural, program_id, part)
    except DomainError as error:
        context["section"] = pg.run(_section, plural, program_id, Slice())
        return pg.failed("admin/program.html", context, error)
    return pg.render("admin/program.html", context)


def _back(pg: Page, fallback: str) -> str:
    """Where a form returns to: one of the administrator's pages, never another site."""
    back = pg.form.text("back")
    return back if back.startswith("/web/admin") and "//" not in back and "\\" not in back else fallback


def _confirm_context(pg: Page, plural: str, record_id: str, trigger: str, program_id: str) -> dict[str, Any]:
    holder, certs = pg.read(queries.prescriber if plural == "prescribers" else queries.pharmacy, record_id)
    state = next((c.state for c in certs if c.program_id == program_id), "enrolled")
    if trigger not in actions(KINDS[plural], state):  # ask for no reason the machine would refuse anyway
        raise Conflict(f"{KINDS[plural]} {record_id}: cannot {trigger} while {state} in {program_id}")
    return {"plural": plural, "holder": holder, "trigger": trigger, "program_id": program_id,
            "values": {"reason": pg.form.text("reason")}, "back": _back(pg, "/web/admin")}


@router.post("/{plural}/{record_id}/{trigger}")
def change(plural: str, record_id: str, trigger: str, pg: Poster) -> Response:
    """Certify, suspend, reinstate or revoke in one program (the form's program_id), audited;
    suspending or revoking asks for a confirmation and a reason first. Not in force any more, a
    prescriber's authorizations in that program are voided (R3), a pharmacy's confirmations (R25)."""
    try:
        pg.form.check()
        if plural not in KINDS:
            raise InvalidInput("kind", "prescribers or pharmacies")
        if trigger not in QUEUE_TRIGGERS:
            raise InvalidInput("trigger", f"one of {', '.join(QUEUE_TRIGGERS)}")
        program_id = certification.program_of(pg.app.programs, pg.form.opt("program_id"),
                                              pg.app.settings.default_program)
        reason = None
        if trigger in CONFIRMED:
            context = _confirm_context(pg, plural, record_id, trigger, program_id)
            if not pg.form.flag("confirmed"):
                return pg.render("admin/confirm.html", context)
            try:
                reason = parse(StatedReason, reason=pg.form.text("reason").strip()).reason
            except InvalidInput as error:
                return pg.failed("admin/confirm.html", context, error)
        cert = pg.run(certification.change_certification, KINDS[plural], record_id, trigger, program_id,
                      reason)
    except DomainError as error:
        return pg.failed("admin/queue.html", {"values": {}, "state_options": STATE_OPTIONS,
                                              **pg.run(_overview, Slice(size=OVERVIEW_ROWS))}, error)
    return pg.redirect(_back(pg, f"/web/admin#{cert.program_id}-{cert.holder_id}"))


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
