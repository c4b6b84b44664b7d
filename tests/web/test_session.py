"""Signing in to the dashboard: a signed cookie naming the token, re-checked on every request;
CSRF on every form; every refused access audited like the API's."""

from __future__ import annotations

import base64
import json
import zlib

from fastapi.testclient import TestClient

from rems.asgi import create_app
from rems.bootstrap import App
from rems.domain.model import Patient
from rems.services.access import tokens
from rems.web.session import COOKIE
from tests.api.conftest import Clock
from tests.api.world import ADMIN, World
from tests.web.conftest import Browser, signed_in


def token_id(w: World, actor: str) -> str:
    with w.app.uow() as uow:
        token = uow.token_by_hash(tokens.token_hash(w.tokens[actor]))
        assert token is not None
        return token.id


def _payload(cookie: str) -> dict[str, object]:
    """The cookie's readable payload (itsdangerous zlib-compresses it, marked by a leading dot,
    when that is shorter: signed, not encrypted, so nothing secret may be in it)."""
    compressed = cookie.startswith(".")
    body = cookie.removeprefix(".").split(".")[0]
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    data: dict[str, object] = json.loads(zlib.decompress(raw) if compressed else raw)
    return data


def test_a_page_without_a_session_sends_the_visitor_to_sign_in_and_is_audited(
        browser: Browser, w: World) -> None:
    response = browser.get("/web/prescriber")
    assert response.status_code == 303
    assert response.headers["location"] == "/web/login"
    assert browser.client.post("/web/pharmacy/check", data={"number": w.number}).status_code == 303
    assert w.refusals("anonymous") == ["AUTH_SESSION_MISSING", "AUTH_SESSION_MISSING"]


def test_signing_in_sets_an_httponly_lax_cookie_that_names_the_token_but_never_holds_it(
        browser: Browser, w: World) -> None:
    response = browser.sign_in(w.tokens[w.doc])
    assert response.status_code == 303 and response.headers["location"] == "/web/prescriber"
    header = response.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=lax" in header and "secure" not in header
    cookie = browser.client.cookies[COOKIE]
    assert w.tokens[w.doc] not in cookie
    assert _payload(cookie)["t"] == token_id(w, w.doc)
    assert browser.get("/web/prescriber").status_code == 200


def test_over_https_the_session_cookie_is_secure(app: App, clock: Clock, w: World) -> None:
    with TestClient(create_app(app, clock), base_url="https://testserver", follow_redirects=False) as client:
        response = Browser(client).sign_in(w.tokens[w.doc])
    assert "secure" in response.headers["set-cookie"].lower()


def test_an_unknown_token_is_refused_beside_the_field_and_audited(browser: Browser, w: World) -> None:
    response = browser.sign_in("not-a-token")
    assert response.status_code == 401
    assert 'id="f-token-error"' in response.text and "this token is unknown" in response.text
    assert _payload(browser.client.cookies[COOKIE])["t"] is None  # still nobody signed in
    assert "AUTH_TOKEN_UNKNOWN" in w.refusals("anonymous")


def test_revoking_the_token_ends_the_session_at_the_next_request(browser: Browser, w: World) -> None:
    signed_in(browser, w, w.doc)
    w.call(tokens.revoke_token, token_id(w, w.doc))
    response = browser.get("/web/prescriber")
    assert response.status_code == 303
    assert response.headers["location"] == "/web/login?ended=revoked"
    assert "token was revoked" in browser.get("/web/login?ended=revoked").text
    assert "AUTH_SESSION_REVOKED" in w.refusals("anonymous")


def test_an_expired_token_ends_the_session(browser: Browser, w: World, clock: Clock) -> None:
    signed_in(browser, w, w.doc)
    clock.advance(days=31)  # World's tokens are valid 30 days
    assert browser.get("/web/prescriber").headers["location"] == "/web/login?ended=expired"


def test_a_tampered_cookie_is_no_session(browser: Browser, w: World) -> None:
    signed_in(browser, w, w.doc)
    cookie = browser.client.cookies[COOKIE]
    browser.client.cookies.clear()
    browser.client.cookies.set(COOKIE, "x" + cookie[1:])
    assert browser.get("/web/prescriber").status_code == 303


def test_a_form_without_the_session_csrf_token_is_refused_changes_nothing_and_is_audited(
        browser: Browser, w: World) -> None:
    signed_in(browser, w, w.doc)
    before = w.count(Patient)
    form = {"name": "Forged", "sex": "male", "birth_date": "1980-01-01", "ppaf.category": "adult_male"}
    for csrf in ({}, {"csrf": "guessed"}):
        response = browser.client.post("/web/prescriber/patients/new", data={**form, **csrf})
        assert response.status_code == 403 and "Form expired" in response.text
    assert w.count(Patient) == before
    assert w.refusals(w.doc).count("AUTH_CSRF_INVALID") == 2


def test_signing_out_ends_the_session(browser: Browser, w: World) -> None:
    signed_in(browser, w, w.doc)
    response = browser.submit("/web/logout", {}, "/web/prescriber")
    assert response.status_code == 303 and response.headers["location"] == "/web/login"
    assert browser.get("/web/prescriber").status_code == 303


def test_another_roles_page_is_forbidden_and_audited(browser: Browser, w: World) -> None:
    signed_in(browser, w, w.doc)
    for path in ("/web/admin", "/web/pharmacy", "/web/patient"):
        response = browser.get(path)
        assert response.status_code == 403 and "Not for your role" in response.text
    assert w.refusals(w.doc).count("AUTH_ROLE_FORBIDDEN") == 3


def test_each_role_lands_on_its_own_dashboard(browser: Browser, w: World) -> None:
    for actor, home in ((w.pharm, "/web/pharmacy"), (ADMIN, "/web/admin"), (w.male, "/web/patient")):
        browser.client.cookies.clear()  # a signed-in visitor is sent home from the sign-in page
        assert browser.sign_in(w.tokens[actor]).headers["location"] == home
        assert browser.get(home).status_code == 200


def test_pages_are_not_cached_nor_framed(browser: Browser, w: World) -> None:
    signed_in(browser, w, w.doc)
    headers = browser.get("/web/prescriber").headers
    assert headers["cache-control"] == "no-store"
    assert headers["x-frame-options"] == "DENY"
    assert "script-src" not in headers["content-security-policy"]  # default-src 'none': no script at all
