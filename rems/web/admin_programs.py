"""The administrator's program pages (issue 17 items 4, 5, 6, 9): every program's lifecycle state
today; per program its requirement table, its lifecycle history with a form to record a change
(reason, confirmation), its declared relaxations (activated by one administrator, approved by a
second, revoked), the reconciliation list of waiver uses, and a new version's diff."""
# No `from __future__ import annotations`: FastAPI resolves the annotations at run time.

from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response

from rems.domain.errors import DomainError, InvalidInput, Refused
from rems.domain.inputs import control_character
from rems.services.context import Context
from rems.services.ports import UnitOfWork
from rems.services.programs import program_status, program_views, relaxations
from rems.web.pages import Form, Page, Visitor, csrf_checked, page, posted, signed_in, visitor
from workflows.lifecycle import STATES

router = APIRouter(prefix="/web/admin/programs", include_in_schema=False)
Viewer = Annotated[Page, Depends(page("admin"))]
Poster = Annotated[Page, Depends(posted("admin"))]
STATE_OPTIONS = [(s, s.replace("_", " ")) for s in STATES[1:]]
USES_PER_PAGE = 50
TOML_FIELD = "toml"


def _day(value: str, name: str) -> date | None:
    text = value.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(name, "a date YYYY-MM-DD") from None


def _number(value: str, name: str) -> int | None:
    text = value.strip()
    if not text:
        return None
    if not text.isdigit():
        raise InvalidInput(name, "a whole number")
    return int(text)


def _activations(uow: UnitOfWork, ctx: Context, program_id: str) -> list[dict[str, Any]]:
    """Each activation with its state now, and whether the signed-in administrator activated it
    (a second one approves: docs/lifecycle.md)."""
    found = []
    for act in relaxations.activations(uow, ctx, program_id):
        if act.revoked_at is not None:
            state = "revoked"
        elif ctx.now >= act.ends_at:
            state = "ended"
        elif act.approved_at is not None:
            state = "in force"
        else:
            state = "awaiting approval"
        found.append({"a": act, "state": state, "mine": act.activated_by == ctx.actor})
    return list(reversed(found))  # newest first


def _detail(uow: UnitOfWork, ctx: Context, program_id: str) -> dict[str, Any]:
    status = program_status.describe(uow, ctx, program_id)
    history = [{**e, "source": "program file", "recorded_at": None} for e in status["declared"]]
    history += [{**c, "source": c["actor"]} for c in status["recorded"]]
    history.sort(key=lambda h: (h["effective_from"], h["recorded_at"] or ""))
    return {"summary": program_views.summary(uow, ctx, program_id),
            "table": program_views.requirements(uow, ctx, program_id),
            "status": status, "history": history, "activations": _activations(uow, ctx, program_id)}


def _known(pg: Page, program_id: str) -> bool:
    return program_id in pg.app.programs


def _not_found(pg: Page) -> Response:
    return pg.render("error.html", {"title": "Not found", "detail": "No such program."}, 404)


@router.get("")
def programs(pg: Viewer) -> Response:
    return pg.render("admin/programs.html", {"programs": pg.run(program_views.overview)})


def _detail_page(pg: Page, program_id: str, extra: dict[str, Any] | None = None,
                 error: DomainError | None = None) -> Response:
    context: dict[str, Any] = {"program_id": program_id, "state_options": STATE_OPTIONS, "values": {},
                               "form_name": "", **(extra or {})}
    context.update(pg.read(_detail, program_id))
    if error is not None:
        return pg.failed("admin/programs_detail.html", context, error)
    return pg.render("admin/programs_detail.html", context)


@router.get("/{program_id}")
def program(program_id: str, pg: Viewer, done: str = "") -> Response:
    if not _known(pg, program_id):
        return _not_found(pg)
    return _detail_page(pg, program_id, {"done": done[:200]})


@router.post("/{program_id}/status")
def record_status(program_id: str, pg: Poster) -> Response:
    """L1: record a lifecycle change; a second page shows what it does and asks again first."""
    if not _known(pg, program_id):
        return _not_found(pg)
    form = pg.form
    values = {k: form.text(k) for k in ("state", "effective_from", "reason")}
    try:
        form.check()
        state = form.text("state")
        if state not in STATES[1:]:
            raise InvalidInput("state", f"one of {', '.join(STATES[1:])}")
        effective_from = _day(form.text("effective_from"), "effective_from")
        if effective_from is None:
            raise InvalidInput("effective_from", "required: the date it takes effect (program's calendar)")
        reason = form.text("reason").strip()
        if not reason:
            raise InvalidInput("reason", "required: why (e.g. the FDA action), kept in the audit trail")
        if not form.flag("confirmed"):
            return pg.render("admin/programs_confirm.html", {
                "program_id": program_id, "values": values, "state": state, "effective_from": effective_from,
                "reason": reason, "summary": pg.read(program_views.summary, program_id)})
        change = pg.run(program_status.record_change, program_id, state, effective_from, reason)
    except DomainError as error:
        return _detail_page(pg, program_id, {"values": values, "form_name": "status"}, error)
    done = f"Recorded: {program_id} {change.state.replace('_', ' ')} from {change.effective_from} ({change.id})."
    return pg.redirect(f"/web/admin/programs/{program_id}?done={quote(done)}#lifecycle")


@router.post("/{program_id}/relaxations/{name}/activate")
def activate(program_id: str, name: str, pg: Poster) -> Response:
    """L2: one administrator activates a declared relaxation; it is in force once another approves."""
    if not _known(pg, program_id):
        return _not_found(pg)
    values = {"reason": pg.form.text("reason"), "hours": pg.form.text("hours"), "name": name}
    try:
        pg.form.check()
        act = pg.run(relaxations.activate, program_id, name, pg.form.text("reason"),
                     _number(pg.form.text("hours"), "hours"))
    except DomainError as error:
        return _detail_page(pg, program_id, {"values": values, "form_name": f"activate-{name}"}, error)
    done = f"Activated {name} ({act.id}): not in force until a second administrator approves it."
    return pg.redirect(f"/web/admin/programs/{program_id}?done={quote(done)}#relaxations")


SELF_APPROVAL = ("You activated this relaxation, so you cannot approve it: a second administrator "
                 "must sign in and approve it (L2, two administrators).")


@router.post("/{program_id}/activations/{activation_id}/{step}")
def decide(program_id: str, activation_id: str, step: str, pg: Poster) -> Response:
    """L2: approve (a different administrator) or revoke (any) an activation."""
    if not _known(pg, program_id) or step not in ("approve", "revoke"):
        return _not_found(pg)
    service = relaxations.approve if step == "approve" else relaxations.revoke
    try:
        pg.form.check()
        act = pg.run(service, program_id, activation_id)
    except DomainError as error:
        extra: dict[str, Any] = {}
        if isinstance(error, Refused) and any(f.code == "RELAXATION_SAME_ADMINISTRATOR" for f in error.failures):
            extra["self_approval"] = SELF_APPROVAL
        return _detail_page(pg, program_id, extra, error)
    done = (f"Approved {act.name} ({act.id}): in force until {act.ends_at:%Y-%m-%d %H:%M} UTC."
            if step == "approve" else f"Revoked {act.name} ({act.id}).")
    return pg.redirect(f"/web/admin/programs/{program_id}?done={quote(done)}#relaxations")


@router.get("/{program_id}/uses")
def uses(program_id: str, pg: Viewer, waiver: str = "", page: str = "1") -> Response:
    """The reconciliation list: every allowance a waiver made, newest first, paged in SQL."""
    if not _known(pg, program_id):
        return _not_found(pg)
    context: dict[str, Any] = {"program_id": program_id, "values": {"waiver": waiver[:80]}}
    try:
        if len(waiver) > 80:
            raise InvalidInput("waiver", "80 characters at most")
        number = _number(page, "page") or 1
        context["found"] = pg.run(program_views.uses_page, program_id, waiver or None, number, USES_PER_PAGE)
    except DomainError as error:
        context["found"] = pg.run(program_views.uses_page, program_id, None, 1, USES_PER_PAGE)
        return pg.failed("admin/programs_uses.html", context, error)
    return pg.render("admin/programs_uses.html", context)


@router.get("/{program_id}/diff")
def diff_form(program_id: str, pg: Viewer) -> Response:
    if not _known(pg, program_id):
        return _not_found(pg)
    return pg.render("admin/programs_diff.html", {"program_id": program_id, "values": {}})


async def _upload(request: Request, seen: Annotated[Visitor, Depends(visitor)]) -> Page:
    """The diff form (multipart): a pasted file or one uploaded, with this session's CSRF token.
    The file is read whole up to the size limit; the other fields are checked as every form's."""
    principal = signed_in(request, seen, "admin")
    values: dict[str, str] = {}
    uploaded, text = "", ""
    limit = program_views.MAX_PROGRAM_CHARS
    async with request.form(max_files=1, max_fields=10, max_part_size=limit + 1) as data:
        for key, value in data.multi_items():
            if isinstance(value, UploadFile):
                uploaded = (await value.read(limit + 1)).decode("utf-8", errors="replace")
            elif key == TOML_FIELD:
                text = value
            else:
                values[key] = value
    text = uploaded or text
    form = Form(values)
    csrf_checked(request, seen, form, principal.actor, principal.actor_id)
    if len(text) > program_views.MAX_PROGRAM_CHARS or control_character(text, free_text=True) or "\ufffd" in text:
        text = "\0"  # refused below, naming the field
    return Page(request, seen, principal, Form({**values, TOML_FIELD: text}))


Uploader = Annotated[Page, Depends(_upload)]


@router.post("/{program_id}/diff")
def diff(program_id: str, pg: Uploader) -> Response:
    """Issue 17 item 6: today's patients under the version in force and under the pasted or
    uploaded file on its date; who would be refused or freed. Writes nothing."""
    if not _known(pg, program_id):
        return _not_found(pg)
    text = pg.form.text(TOML_FIELD)
    values = {"on": pg.form.text("on")}
    context: dict[str, Any] = {"program_id": program_id, "values": values,
                               "pasted": "" if text == "\0" else text}
    try:
        Form(values).check()
        if text == "\0":
            raise InvalidInput(TOML_FIELD, f"a UTF-8 text file of at most {program_views.MAX_PROGRAM_CHARS} "
                                           "characters, without control characters")
        context["result"] = pg.read(program_views.diff, program_id, text, _day(values["on"], "on"))
    except DomainError as error:
        return pg.failed("admin/programs_diff.html", context, error)
    return pg.render("admin/programs_diff.html", context)
