"""What every dashboard page shares: who is signed in, forms checked for CSRF, audited refusals.

Handlers stay thin: parse a form into a command, call one service through `Page.run`, then
redirect (303) on success or render the same page with the error beside its field.
"""
# No `from __future__ import annotations`: FastAPI resolves the dependencies' annotations at run time.

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from rems.bootstrap import App
from rems.domain.catalogue import LIVE_PATIENT_STATES, UNHELD_PATIENT_STATES
from rems.domain.errors import Conflict, DomainError, InvalidInput, NotFound, Refused
from rems.domain.inputs import control_character
from rems.http.auth import Principal, application, clock, refuse, request_id
from rems.services.context import Context, Service
from rems.web import languages as i18n_web
from rems.web.session import Cookies, WebSession, principal_of
from rems.web.zones import shown, to_utc

T = TypeVar("T")
P = ParamSpec("P")
HOME = {"prescriber": "/web/prescriber", "pharmacy": "/web/pharmacy", "admin": "/web/admin",
        "patient": "/web/patient"}
HEADERS = {
    "Cache-Control": "no-store",  # pages carry patient data: never in a shared or back-button cache
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}
MAX_FIELD = 2000


class LoginRequired(Exception):
    """No usable session: go to the sign-in page (saying why a session ended, if it did)."""

    def __init__(self, ended: str = "") -> None:
        super().__init__(ended)
        self.ended = ended


class ShowError(Exception):
    """An error page decided before a handler runs (wrong role, bad CSRF token)."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


@cache
def templates() -> Jinja2Templates:
    found = Jinja2Templates(directory=Path(__file__).parent / "templates")
    found.env.filters["when"] = when
    found.env.globals.update(LIVE_PATIENT_STATES=LIVE_PATIENT_STATES, UNHELD_PATIENT_STATES=UNHELD_PATIENT_STATES)
    i18n_web.install(found.env)  # issue 18 item 5: gettext, the `moment` filter
    return found


def when(value: datetime | str | None, zone: str | None = None) -> str:
    """A moment as people read it: in `zone` with its abbreviation, else in UTC, always named (T1)."""
    return shown(value, zone)


def cookies(request: Request) -> Cookies:
    app = application(request)
    secret = app.settings.session_secret
    assert secret is not None  # Settings always fills it (random per process outside production)
    return Cookies(secret.get_secret_value(), app.settings.env == "production")


@dataclass(frozen=True)
class Form:
    """A submitted form as strings; checkboxes are present or absent."""

    values: dict[str, str] = field(default_factory=dict)

    def text(self, name: str) -> str:
        return self.values.get(name, "")

    def opt(self, name: str) -> str | None:
        return self.values.get(name, "").strip() or None

    def flag(self, name: str) -> bool:
        return self.values.get(name, "").lower() in ("on", "true", "1", "yes")

    def moment(self, name: str, zone: str) -> datetime | str | None:
        """T1: a browser's datetime-local value has no zone: it is read in `zone`, the one the form
        names, and converted to UTC (a time in a DST gap or fold is refused naming the field)."""
        return to_utc(self.opt(name), zone, name)

    def check(self) -> None:
        """What no field may hold, whatever the command: control characters, or a novel."""
        for name, value in self.values.items():
            if control_character(value, free_text=True):  # the commands refuse TAB, CR, LF too
                raise InvalidInput(name, "contains control characters")
            if len(value) > MAX_FIELD:
                raise InvalidInput(name, f"is too long ({MAX_FIELD} characters at most)")


async def read_form(request: Request) -> Form:
    data = await request.form(max_files=0, max_fields=100)
    return Form({k: v for k, v in data.items() if not isinstance(v, UploadFile)})


@dataclass
class Visitor:
    request: Request
    session: WebSession | None
    principal: Principal | None = None


def visitor(request: Request) -> Visitor:
    """Who is asking: the session cookie's token is looked up again on every request."""
    session = cookies(request).read(request)
    if session is None or session.token_id is None:
        return Visitor(request, session)
    now = clock(request)
    with application(request).uow(write=False) as uow:
        principal, why = principal_of(uow, session.token_id, now)
    # The token's fate first (revoked says more than idle), then the session's own limits.
    why = why or session.ended(now, application(request).settings.web_idle_minutes)  # issue 18 item 4
    if principal is None or why:
        refuse(request, "anonymous", "anonymous", 401, f"AUTH_SESSION_{why.upper()}",
               f"session {why}" if why in ("idle", "absolute") else f"session token {why}",
               "sign in again with a valid token")
        raise LoginRequired(why)
    return Visitor(request, session.touched(now), principal)


@dataclass
class Page:
    """One request of a signed-in actor: service calls, rendering, redirects."""

    request: Request
    visitor: Visitor
    principal: Principal
    form: Form = field(default_factory=Form)

    @property
    def app(self) -> App:
        return application(self.request)

    @property
    def actor_id(self) -> str:
        return self.principal.actor_id

    @property
    def ctx(self) -> Context:
        return Context(self.principal.actor, clock(self.request), request_id(self.request))

    def run(self, service: Service[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """One service call, one transaction; another actor's record is audited and not found.
        A GET only reads: it takes no write lock (issue 13 item 8)."""
        return self._call(self.request.method not in ("GET", "HEAD"), service, *args, **kwargs)

    def read(self, service: Service[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`run` for a call that only reads, whatever the method: it takes no write lock."""
        return self._call(False, service, *args, **kwargs)

    def _call(self, writes: bool, service: Service[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        with self.app.uow(write=writes) as uow:
            try:
                result = service(uow, self.ctx, *args, **kwargs)
                # Templates read the records after the unit of work ends; keep them as loaded
                # (closing rolls back, which would expire every attribute still in the session).
                uow.session.expunge_all()
                return result
            except NotFound as error:
                uow.session.rollback()  # the refusal commits on its own: release the write lock
                refuse(self.request, self.principal.actor, self.actor_id, 404,
                       "AUTH_NOT_FOUND_OR_NOT_YOURS", str(error), "ask only for your own records")
                raise

    def render(self, template: str, context: dict[str, Any] | None = None, status: int = 200) -> Response:
        return render(self.request, self.visitor, template, context or {}, status)

    def failed(self, template: str, context: dict[str, Any], error: DomainError,
               missing: str | None = None) -> Response:
        """The page again, with what went wrong where the user will look for it; a record not
        found is shown beside the field `missing` that named it, else as its own page."""
        if isinstance(error, NotFound) and missing is not None:
            context["errors"] = {missing: not_found(error)}
            return self.render(template, context, 404)
        if isinstance(error, NotFound):
            return self.render("error.html", {"title": "Not found", "detail": not_found(error)}, 404)
        if isinstance(error, InvalidInput):
            context["errors"] = {error.field: error.reason}
            return self.render(template, context, 422)
        if isinstance(error, Refused):
            context["refusal"] = error
            return self.render(template, context, 409)
        context["problem"] = str(error) if isinstance(error, Conflict) else "refused"
        return self.render(template, context, 409)

    def redirect(self, url: str) -> Response:
        response = RedirectResponse(url, status_code=303, headers=HEADERS)
        if self.visitor.session is not None:  # issue 18 item 4: this request renews the idle timeout
            cookies(self.request).write(response, self.request, self.visitor.session)
        return response


def not_found(error: NotFound) -> str:
    return f"No {error.entity.replace('_', ' ')} {error.key!r} that you may see."


def render(request: Request, visitor: Visitor, template: str, context: dict[str, Any],
           status: int = 200) -> Response:
    session = visitor.session
    new = session is None
    if session is None:
        session = WebSession.fresh()
    languages = i18n_web.page_context(request, visitor.principal)  # issue 18 item 5
    with i18n_web.rendering(languages["lang"]):
        response = templates().TemplateResponse(request, template, {
            "principal": visitor.principal, "csrf": session.csrf, "home": HOME, **languages, **context},
            status_code=status, headers=HEADERS)
    # A first visit: the session that will carry this form's CSRF token; a signed-in user's page
    # renews the session's idle timeout (issue 18 item 4).
    if new or visitor.principal is not None:
        cookies(request).write(response, request, session)
    return response


def plain_address(request: Request) -> None:
    """Ids and filters in the path or query reach the database: no control characters (PostgreSQL
    refuses NUL outright) and no novels, refused before any service runs."""
    for name, value in [*request.path_params.items(), *request.query_params.items()]:
        if isinstance(value, str) and (control_character(name + value) or len(value) > MAX_FIELD):
            raise ShowError(422, "Invalid address", f"{name}: contains control characters or is too long")


def signed_in(request: Request, seen: Visitor, role: str) -> Principal:
    plain_address(request)
    if seen.principal is None:
        refuse(request, "anonymous", "anonymous", 401, "AUTH_SESSION_MISSING", "no session",
               "sign in with a token from `rems token create`")
        raise LoginRequired()
    if seen.principal.role != role:
        principal = seen.principal
        refuse(request, principal.actor, principal.actor_id, 403, "AUTH_ROLE_FORBIDDEN",
               f"this page is for the {role} role; signed in as {principal.role}", f"sign in as a {role}")
        raise ShowError(403, "Not for your role", f"This page is for the {role} role.")
    return seen.principal


def page(role: str) -> Callable[[Request, Visitor], Page]:
    def dependency(request: Request, seen: Annotated[Visitor, Depends(visitor)]) -> Page:
        return Page(request, seen, signed_in(request, seen, role))
    dependency.__name__ = f"{role}_page"
    return dependency


def posted(role: str) -> Callable[[Request, Visitor, Form], Page]:
    """A form POST: signed in with `role`, and carrying this session's CSRF token."""
    def dependency(request: Request, seen: Annotated[Visitor, Depends(visitor)],
                   form: Annotated[Form, Depends(read_form)]) -> Page:
        principal = signed_in(request, seen, role)
        csrf_checked(request, seen, form, principal.actor, principal.actor_id)
        return Page(request, seen, principal, form)
    dependency.__name__ = f"{role}_post"
    return dependency


def csrf_checked(request: Request, seen: Visitor, form: Form, actor: str, subject: str) -> None:
    if seen.session is None or not seen.session.csrf_matches(form.values.get("csrf")):
        refuse(request, actor, subject, 403, "AUTH_CSRF_INVALID", "form without this session's CSRF token",
               "reload the page and submit the form again")
        raise ShowError(403, "Form expired", "This form is not from your current session. "
                                             "Reload the page and try again.")
