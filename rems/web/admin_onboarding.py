"""Onboarding without a shell (issue 18 item 3): the administrator enrolls prescribers (R1, R2) and
pharmacies (R25), sees each one's certification in every program, and issues and revokes their
tokens. A token is shown once, on the page that answers the POST, and only its hash is stored
(rems/services/access/tokens.py, the same code as `rems token create`)."""
# No `from __future__ import annotations`: FastAPI resolves the annotations at run time.

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from rems.domain.access import ApiToken
from rems.domain.errors import DomainError, InvalidInput
from rems.services.access import tokens
from rems.services.commands import EnrollPharmacy, EnrollPrescriber, parse
from rems.services.context import Context
from rems.services.enrollment import certification, contacts
from rems.services.ports import UnitOfWork
from rems.services.views import queries, staff_queues
from rems.web.admin import KINDS, PLURAL, actions
from rems.web.pages import Form, Page, page, posted

router = APIRouter(prefix="/web/admin", include_in_schema=False)
Viewer = Annotated[Page, Depends(page("admin"))]
Poster = Annotated[Page, Depends(posted("admin"))]
DEFAULT_TOKEN_DAYS = 90  # as `rems token create`
# The form's checkboxes, by kind: what R1/R2 and R25 ask before certification.
CHECKS = {"prescriber": (("attested", "The prescriber signed the enrollment attestation (R2)"),
                         ("education_reviewed", "The prescriber reviewed the REMS education (R1)")),
          "pharmacy": (("representative_enrolled", "An authorized representative enrolls the pharmacy (R25)"),
                       ("staff_trained", "The dispensing staff are trained on the REMS (R25)"),
                       ("records_and_audits_accepted", "The pharmacy keeps records and accepts audits (R25)"))}


def _kind(kind: str) -> certification.Kind:
    if kind not in PLURAL:
        raise InvalidInput("kind", "prescriber or pharmacy")
    return "prescriber" if kind == "prescriber" else "pharmacy"


def _enroll_context(kind: str, values: dict[str, str] | None = None) -> dict[str, Any]:
    return {"kind": kind, "checks": CHECKS[kind], "values": values or {}}


@router.get("/enroll/{kind}")
def enroll_form(kind: str, pg: Viewer) -> Response:
    if kind not in PLURAL:
        return pg.render("error.html", {"title": "Not found", "detail": "Enroll a prescriber or a pharmacy."}, 404)
    return pg.render("admin/enroll.html", _enroll_context(kind))


def _enroll(pg: Page, kind: certification.Kind, form: Form) -> str:
    flags = {name: form.flag(name) for name, _label in CHECKS[kind]}
    if kind == "prescriber":
        return pg.run(certification.enroll_prescriber, parse(
            EnrollPrescriber, name=form.text("name").strip(), npi=form.text("npi").strip(),
            office_phone=form.opt("office_phone"), office_email=form.opt("office_email"), **flags)).id
    return pg.run(certification.enroll_pharmacy, parse(
        EnrollPharmacy, name=form.text("name").strip(), ncpdp_id=form.text("ncpdp_id").strip(), **flags)).id


@router.post("/enroll/{kind}")
def enroll(kind: str, pg: Poster) -> Response:
    """R1, R25: enrolled now, certified per program next (from the record's page or the queue)."""
    try:
        checked = _kind(kind)
        pg.form.check()
        record_id = _enroll(pg, checked, pg.form)
    except DomainError as error:
        if kind not in PLURAL:
            return pg.render("error.html", {"title": "Not found", "detail": "Enroll a prescriber or a pharmacy."},
                             404)
        return pg.failed("admin/enroll.html", _enroll_context(kind, pg.form.values), error)
    return pg.redirect(f"/web/admin/{PLURAL[kind]}/{record_id}?enrolled=1")


def _holder(uow: UnitOfWork, ctx: Context, kind: certification.Kind, record_id: str) -> dict[str, Any]:
    record, certs = (queries.prescriber if kind == "prescriber" else queries.pharmacy)(uow, ctx, record_id)
    held = {c.program_id: c for c in certs}
    programs = [{"id": p, "name": uow.programs[p].name, "cert": held.get(p),
                 "actions": actions(kind, held[p].state if p in held else "enrolled")}
                for p in sorted(uow.programs)]
    return {"record": record, "programs": programs,
            "tokens": list(staff_queues.tokens_of(uow, ctx, kind, record_id)),
            "office": contacts.of(uow, kind, record_id) if kind == "prescriber" else None}  # issue 18


def _holder_page(pg: Page, plural: str, record_id: str, extra: dict[str, Any] | None = None,
                 status: int = 200) -> Response:
    kind = KINDS[plural]
    context = {"plural": plural, "kind": kind, "now": pg.ctx.now, "values": {"expires_in_days": str(
        DEFAULT_TOKEN_DAYS)}, **pg.read(_holder, kind, record_id), **(extra or {})}
    return pg.render("admin/holder.html", context, status)


@router.get("/{plural}/{record_id}")
def holder(plural: str, record_id: str, pg: Viewer, enrolled: str = "", revoked: str = "") -> Response:
    """One prescriber or pharmacy: what was recorded at enrollment, its certification in every
    program (with the queue's actions), and its tokens."""
    if plural not in KINDS:
        return pg.render("error.html", {"title": "Not found", "detail": "No such kind of record."}, 404)
    try:
        return _holder_page(pg, plural, record_id, {"enrolled": bool(enrolled), "revoked": revoked[:40]})
    except DomainError as error:
        return pg.failed("admin/holder.html", {}, error)


def _days(value: str) -> int:
    try:
        return int(value.strip() or DEFAULT_TOKEN_DAYS)
    except ValueError:
        raise InvalidInput("expires_in_days", "a whole number of days, from 1 to 3650") from None


@router.post("/{plural}/{record_id}/tokens")
def issue(plural: str, record_id: str, pg: Poster) -> Response:
    """A token for this prescriber or pharmacy, shown on this page once (never in a URL, never again)."""
    if plural not in KINDS:
        return pg.render("error.html", {"title": "Not found", "detail": "No such kind of record."}, 404)
    try:
        cmd = parse(tokens.IssueToken, role=KINDS[plural], actor_id=record_id,
                    expires_in_days=_days(pg.form.text("expires_in_days")))
        issued = pg.run(tokens.issue_token, cmd)
    except InvalidInput as error:
        context = {"plural": plural, "kind": KINDS[plural], "now": pg.ctx.now, "values": pg.form.values,
                   "errors": {error.field: error.reason}, **pg.read(_holder, KINDS[plural], record_id)}
        return pg.render("admin/holder.html", context, 422)
    except DomainError as error:
        return pg.failed("admin/holder.html", {}, error)
    return pg.render("admin/token_issued.html", {"plural": plural, "token": issued.token,
                                                 "secret": issued.secret, "record_id": record_id})


def _token(uow: UnitOfWork, ctx: Context, token_id: str) -> ApiToken:
    token = uow.get(ApiToken, token_id)
    if token.role not in PLURAL:  # an administrator's or a patient's token is not managed here
        raise InvalidInput("token_id", "a prescriber's or a pharmacy's token")
    return token


@router.post("/tokens/{token_id}/revoke")
def revoke(token_id: str, pg: Poster) -> Response:
    """Revoke one token after a confirmation: every session and call made with it ends at once."""
    try:
        token = pg.read(_token, token_id)
        if not pg.form.flag("confirmed"):
            return pg.render("admin/token_revoke.html", {"token": token, "plural": PLURAL[token.role]})
        pg.run(tokens.revoke_token, token_id)
    except DomainError as error:
        return pg.failed("error.html", {"title": "Not revoked", "detail": str(error)}, error)
    return pg.redirect(f"/web/admin/{PLURAL[token.role]}/{token.actor_id}?revoked={token.id}#tokens")
