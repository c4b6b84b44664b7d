"""Sign in with an API token typed into a form, sign out; the cookie names the token, never holds it."""
# No `from __future__ import annotations`: FastAPI resolves the annotations at run time.

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from rems.http.auth import application, clock, refuse, request_id
from rems.i18n import N_, gettext
from rems.services.access.tokens import authenticate, revoke_token
from rems.services.context import Context
from rems.web.languages import page_language
from rems.web.pages import (
    HEADERS,
    HOME,
    Form,
    LoginRequired,
    ShowError,
    Visitor,
    cookies,
    csrf_checked,
    read_form,
    render,
    visitor,
)
from rems.web.session import SESSION_HOURS, WebSession

router = APIRouter(prefix="/web", include_in_schema=False)
ENDED = {"revoked": N_("Your session ended: its token was revoked."),  # N_: login.html translates
         "expired": N_("Your session ended: its token expired."),
         "unknown": N_("Your session ended: its token no longer exists."),
         "idle": N_("Your session ended after {minutes} min without activity: sign in again."),
         "absolute": N_("Your session ended: a session lasts {hours} hours at most. Sign in again.")}
REFUSED = {"unknown": N_("this token is unknown: ask the program administrator for a new one"),
           "revoked": N_("this token is revoked: ask the program administrator for a new one"),
           "expired": N_("this token is expired: ask the program administrator for a new one")}


def _visitor_or_anonymous(request: Request) -> Visitor:
    """The sign-in page must load even for a session whose token was just revoked."""
    try:
        return visitor(request)
    except LoginRequired:  # already audited; show the form with a fresh session
        return Visitor(request, None)


@router.get("/login")
def login_form(request: Request, seen: Annotated[Visitor, Depends(_visitor_or_anonymous)],
               ended: str = "") -> Response:
    if seen.principal is not None:
        return RedirectResponse(HOME[seen.principal.role], status_code=303, headers=HEADERS)
    settings = application(request).settings
    provider = settings.oidc_label if settings.oidc_issuer else ""  # issue 18 item 4: docs/sign-in.md
    return render(request, seen, "login.html", {"notice": ENDED.get(ended, ""), "hours": SESSION_HOURS,
                                                "minutes": settings.web_idle_minutes, "provider": provider})


@router.post("/login")
def login(request: Request, seen: Annotated[Visitor, Depends(_visitor_or_anonymous)],
          form: Annotated[Form, Depends(read_form)]) -> Response:
    csrf_checked(request, seen, form, "anonymous", "anonymous")
    secret = form.text("token").strip()
    if not secret or len(secret) > 200:
        return render(request, seen, "login.html", {"errors": {"token": "enter your access token"}}, 422)
    with application(request).uow(write=False) as uow:
        token, why = authenticate(uow, clock(request), secret)
        found = (token.id, token.role, token.actor_id, token.actor) if token else None
    if found is None or why:
        actor, subject = (found[3], found[2]) if found else ("anonymous", "anonymous")
        refuse(request, actor, subject, 401, f"AUTH_TOKEN_{why.upper()}", f"sign-in with a token {why}",
               "ask the program administrator for a new token")
        lang = page_language(request, None)  # issue 18 item 5: the reason in the reader's language
        return render(request, seen, "login.html", {"errors": {"token": gettext(lang, REFUSED.get(
            why, f"this token is {why}: ask the program administrator for a new one"))}}, 401)
    token_id, role = found[0], found[1]
    response = RedirectResponse(HOME[role], status_code=303, headers=HEADERS)
    # A new CSRF secret at sign-in: nothing learnt before it is of use afterwards.
    cookies(request).write(response, request, WebSession.fresh(token_id, clock(request)))
    return response


@router.post("/logout")
def logout(request: Request, seen: Annotated[Visitor, Depends(_visitor_or_anonymous)],
           form: Annotated[Form, Depends(read_form)]) -> Response:
    actor = seen.principal.actor if seen.principal else "anonymous"
    csrf_checked(request, seen, form, actor, seen.principal.actor_id if seen.principal else "anonymous")
    if seen.principal is not None and seen.session is not None and seen.session.own_token:
        # Issue 18 item 4: a provider's or EHR's sign-in made this token for this session only.
        ctx = Context(actor, clock(request), request_id(request))
        with application(request).uow() as uow:
            revoke_token(uow, ctx, seen.principal.token_id)
    response = RedirectResponse("/web/login", status_code=303, headers=HEADERS)
    cookies(request).clear(response, request)
    return response


def show_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ShowError)
    seen = Visitor(request, cookies(request).read(request))
    return render(request, seen, "error.html", {"title": error.title, "detail": error.detail}, error.status)
