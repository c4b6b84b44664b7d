"""Issue 18 item 5 on the dashboard (rems.i18n holds the catalogues and the formats): which language a page is in, the switch, the Jinja hooks.

The patient's pages, the sign-in page and the error pages are translated; the staff's pages
(prescriber, pharmacy, administrator) stay in English, so a signed-in staff member always gets
`lang="en"` whatever the browser asks. The reader's language is, in order: the `rems_lang` cookie
set by the switch links, the browser's Accept-Language, English. (No migration records a
patient's own preference: the cookie is per browser.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from typing import Any, Protocol
from urllib.parse import quote

from fastapi import APIRouter, Request
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from starlette.responses import RedirectResponse, Response

from rems import i18n
from rems.i18n import messages

router = APIRouter(prefix="/web", include_in_schema=False)
TRANSLATED_ROLES = frozenset({"patient"})  # signed-in roles whose pages have catalogues
YEAR = 365 * 24 * 3600
_current: ContextVar[str] = ContextVar("rems_page_lang", default=i18n.DEFAULT)


class Principal(Protocol):  # rems.http.auth.Principal, as far as the language needs it
    @property
    def role(self) -> str: ...


def page_language(request: Request, principal: Principal | None) -> str:
    if principal is not None and principal.role not in TRANSLATED_ROLES:
        return i18n.DEFAULT
    return i18n.negotiate(request.cookies.get(i18n.COOKIE), request.headers.get("accept-language"))


def _back(path: str | None) -> str:
    """Only a path of our own dashboard to go back to: no open redirect (`//evil`, `https:`)."""
    if not path or len(path) > 500 or not path.startswith("/web/") or path.startswith("//") or "\\" in path:
        return "/web/login"
    return path


def page_context(request: Request, principal: Principal | None) -> dict[str, Any]:
    """What base.html needs: the page's language and the switch's links back to this page."""
    lang = page_language(request, principal)
    here = quote(request.url.path, safe="/")
    switch = [] if principal is not None and principal.role not in TRANSLATED_ROLES else [
        (code, i18n.NAMES[code], f"/web/language?to={code}&next={here}") for code in i18n.LOCALES]
    return {"lang": lang, "languages": switch}


@contextmanager
def rendering(lang: str) -> Iterator[None]:
    """The language of the page being rendered, for macros imported without the page's context."""
    token = _current.set(lang)
    try:
        yield
    finally:
        _current.reset(token)


def _lang(context: Context) -> str:
    found = context.get("lang")
    return found if isinstance(found, str) else _current.get()


@pass_context
def _gettext(context: Context, message: str) -> str:
    return i18n.gettext(_lang(context), message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return i18n.ngettext(_lang(context), singular, plural, n)


@pass_context
def _translate(context: Context, message: str | None) -> str:
    """A string made elsewhere (an error page's title): its translation if the catalogue has one,
    else as it is. No %-formatting, unlike `_()`, so any text is safe to pass."""
    return i18n.gettext(_lang(context), message) if message else ""


@pass_context
def _moment(context: Context, value: datetime | date | str | None, zone: str | None = None) -> str:
    return i18n.format_moment(value, zone, _lang(context))


def install(env: Environment) -> None:
    """`{% trans %}`, `_()`, `ngettext()`, `translate()` and the `moment` filter in every template."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["translate"] = _translate
    env.globals["roles"] = messages.ROLES
    env.globals["respondents"] = messages.RESPONDENTS
    env.filters["moment"] = _moment


@router.get("/language")
def choose(request: Request, to: str = "", next: str = "") -> Response:
    """The switch: remember the language in a cookie (a year) and go back to the page."""
    response = RedirectResponse(_back(next), status_code=303, headers={"Cache-Control": "no-store"})
    chosen = i18n.supported(to)
    if chosen:
        response.set_cookie(i18n.COOKIE, chosen, max_age=YEAR, path="/web", httponly=True, samesite="lax",
                            secure=request.app.state.rems.settings.env == "production")
    return response
