"""Issue 18 item 4: sign-in through an OpenID Connect provider, against a real one
(oidc-provider-mock from PyPI, its own process): authorization code with PKCE, state and nonce;
the ID token's signature, iss, aud, exp and nonce verified; only mapped subjects become actors."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from rems.bootstrap import App
from tests.api.conftest import Clock
from tests.api.world import World
from tests.setup.providers import openid_provider
from tests.web.conftest import CSRF
from tests.web.sign_in_walk import Walker, query_of, real_time, sign_in_steps, walking, with_query


@pytest.fixture(scope="session")
def issuer() -> Iterator[str]:
    with openid_provider() as found:
        yield found


@pytest.fixture
def clock() -> Clock:
    return real_time()


@pytest.fixture
def configured(app: App, w: World, issuer: str) -> App:
    app.settings.oidc_issuer = issuer
    app.settings.oidc_client_id = "rems-dashboard"
    app.settings.oidc_client_secret = SecretStr("s3cret-of-the-test")
    app.settings.oidc_label = "Example Health"
    app.settings.oidc_subjects = {"alice@example.org": f"prescriber:{w.doc}", "pat@example.org": f"pharmacy:{w.pharm}"}
    return app


@pytest.fixture
def walker(configured: App, clock: Clock) -> Iterator[Walker]:
    with walking(configured, clock) as walker:
        yield walker


def _to_provider(walker: Walker, issuer: str) -> str:
    """Our sign-in button: the provider's authorization URL we send the browser to."""
    started = walker.ours.get("/web/login/oidc")
    assert started.status_code == 303
    url = started.headers["location"]
    assert url.startswith(f"{issuer}/oauth2/authorize?")
    return url


def _choose(walker: Walker, authorize_url: str, subject: str) -> httpx.Response:
    """The person at the provider's page signs in as `subject`: its answer redirects to our callback."""
    assert walker.theirs.get(authorize_url).status_code == 200  # the provider's own sign-in form
    answer = walker.theirs.post(authorize_url, data={"sub": subject})
    assert answer.status_code == 302 and answer.headers["location"].startswith(
        "http://127.0.0.1:8000/web/login/oidc/callback?"), answer.text
    return answer


def test_the_sign_in_page_offers_the_provider_and_the_token(walker: Walker) -> None:
    page = walker.ours.get("/web/login").text
    assert 'href="/web/login/oidc"' in page and "Example Health" in page
    assert 'name="token"' in page  # token sign-in kept for small sites


def test_a_mapped_subject_signs_in_and_works_as_its_actor(walker: Walker, issuer: str, w: World,
                                                          configured: App) -> None:
    url = _to_provider(walker, issuer)
    sent = query_of(url)
    # Code flow with PKCE (S256), state and nonce, back to our registered callback (OIDC Core 3.1.2.1).
    assert sent["response_type"] == "code" and sent["client_id"] == "rems-dashboard"
    assert sent["code_challenge_method"] == "S256" and len(sent["code_challenge"]) == 43
    assert len(sent["state"]) >= 32 and len(sent["nonce"]) >= 32 and "openid" in sent["scope"].split()
    assert sent["redirect_uri"] == "http://127.0.0.1:8000/web/login/oidc/callback"
    home = walker.follow(_choose(walker, url, "alice@example.org"), stop_at="/web/prescriber")
    assert home.status_code == 303 and home.headers["location"] == "/web/prescriber", sign_in_steps(configured)
    page = walker.ours.get("/web/prescriber")
    assert page.status_code == 200 and w.male in page.text  # doc's own patient list
    assert walker.ours.get(f"/web/prescriber/patients/{w.stranger}").status_code == 404  # scoped to doc
    steps = sign_in_steps(configured)
    assert [s[1] for s in steps] == ["oidc_authorize", "sign_in_oidc"]
    assert steps[1][0] == f"prescriber:{w.doc}"
    assert steps[1][2]["subject"] == "alice@example.org" and steps[1][2]["issuer"] == issuer


def test_a_pharmacy_subject_lands_on_the_pharmacy_counter(walker: Walker, issuer: str) -> None:
    landed = walker.follow(_choose(walker, _to_provider(walker, issuer), "pat@example.org"), stop_at="/web/pharmacy")
    assert landed.headers["location"] == "/web/pharmacy"
    assert walker.ours.get("/web/pharmacy").status_code == 200


def test_an_unmapped_subject_is_refused_with_a_page_that_says_so(walker: Walker, issuer: str,
                                                                  configured: App) -> None:
    page = walker.follow(_choose(walker, _to_provider(walker, issuer), "mallory@example.org"))
    assert page.status_code == 403
    assert "not linked to anyone on this REMS dashboard" in page.text
    assert walker.ours.get("/web/prescriber").status_code == 303  # still signed out
    refusal = sign_in_steps(configured)[-1]
    assert refusal[1] == "refused" and refusal[2] == {"code": "SIGN_IN_UNKNOWN_SUBJECT", "issuer": issuer,
                                                      "subject": "mallory@example.org"}


def test_an_answer_with_another_state_is_refused(walker: Walker, issuer: str, configured: App) -> None:
    answer = _choose(walker, _to_provider(walker, issuer), "alice@example.org")
    forged = with_query(answer.headers["location"], state="not-the-state-we-sent")
    page = walker.get(forged)
    assert page.status_code == 400 and "state mismatch" in page.text
    assert walker.ours.get("/web/prescriber").status_code == 303
    assert sign_in_steps(configured)[-1][2] == {"code": "SIGN_IN_STATE_MISMATCH"}


def test_an_answer_without_our_attempt_cookie_is_refused(walker: Walker, issuer: str) -> None:
    answer = _choose(walker, _to_provider(walker, issuer), "alice@example.org")
    walker.ours.cookies.clear()  # another browser, or the ten minutes are over
    page = walker.get(answer.headers["location"])
    assert page.status_code == 400 and "was not started here" in page.text


def test_an_id_token_for_another_nonce_is_refused(walker: Walker, issuer: str, configured: App) -> None:
    # An attacker replays the provider's answer to another authorization request: same state,
    # the provider signs an ID token with another nonce; the code exchange itself succeeds.
    url = with_query(_to_provider(walker, issuer), nonce="the-nonce-of-another-request")
    page = walker.follow(_choose(walker, url, "alice@example.org"))
    assert page.status_code == 400 and "nonce mismatch" in page.text
    assert walker.ours.get("/web/prescriber").status_code == 303
    assert sign_in_steps(configured)[-1][2] == {"code": "SIGN_IN_NONCE_MISMATCH"}


def test_an_expired_id_token_is_refused(walker: Walker, issuer: str, clock: Clock, configured: App) -> None:
    answer = _choose(walker, _to_provider(walker, issuer), "alice@example.org")
    clock.advance(hours=2)  # the provider's ID tokens last 1 h (its --token-max-age default)
    page = walker.follow(answer)
    assert page.status_code == 400 and "expired" in page.text
    assert sign_in_steps(configured)[-1][2] == {"code": "SIGN_IN_ID_TOKEN_EXPIRED"}


def test_an_id_token_for_another_client_is_refused(walker: Walker, issuer: str, configured: App) -> None:
    # The provider answers a request made for another client: the ID token's aud is not ours.
    url = with_query(_to_provider(walker, issuer), client_id="another-site")
    page = walker.follow(_choose(walker, url, "alice@example.org"))
    assert page.status_code == 400
    assert sign_in_steps(configured)[-1][2]["code"] in ("SIGN_IN_CODE_REFUSED", "SIGN_IN_ID_TOKEN_AUDIENCE")


def test_signing_in_through_the_provider_keeps_the_session_limits(walker: Walker, issuer: str, clock: Clock) -> None:
    walker.follow(_choose(walker, _to_provider(walker, issuer), "alice@example.org"), stop_at="/web/prescriber")
    clock.advance(minutes=15)  # REMS_WEB_IDLE_MINUTES' default
    assert walker.ours.get("/web/prescriber").headers["location"] == "/web/login?ended=idle"


def test_without_an_issuer_there_is_no_provider_sign_in(client: TestClient) -> None:
    assert client.get("/web/login/oidc").status_code == 404
    assert 'href="/web/login/oidc"' not in client.get("/web/login").text


def test_signing_out_ends_a_provider_session_for_good(walker: Walker, issuer: str, configured: App) -> None:
    # A shared workstation: the cookie copied before signing out must not open the session again.
    walker.follow(_choose(walker, _to_provider(walker, issuer), "alice@example.org"), stop_at="/web/prescriber")
    kept = dict(walker.ours.cookies)
    csrf = CSRF.search(walker.ours.get("/web/prescriber").text)
    assert csrf is not None
    assert walker.ours.post("/web/logout", data={"csrf": csrf.group(1)}).status_code == 303
    walker.ours.cookies.update(kept)
    assert walker.ours.get("/web/prescriber").headers["location"] == "/web/login?ended=revoked"
    assert [s[1] for s in sign_in_steps(configured)][-1] == "revoke"


def test_the_client_secret_and_the_code_never_reach_a_log(walker: Walker, issuer: str,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    answer = _choose(walker, _to_provider(walker, issuer), "alice@example.org")
    code = query_of(answer.headers["location"])["code"]
    caplog.set_level(logging.DEBUG)  # from here on, only what our application logs (and the TestClient)
    walker.follow(answer, stop_at="/web/prescriber")
    ours = [r.getMessage() for r in caplog.records if "testserver" not in r.getMessage()]  # not the browser's
    assert any("/oauth2/token" in line for line in ours)  # httpx logged our requests to the provider
    basic = base64.b64encode(b"rems-dashboard:s3cret-of-the-test").decode()
    for secret in ("s3cret-of-the-test", basic, code):
        assert not [line for line in ours if secret in line]


def test_a_flood_of_sign_in_starts_gets_429s_not_audit_rows(walker: Walker, configured: App) -> None:
    # Issue 15 item 8 and security by default: an anonymous start writes an audit row, so it is
    # counted at the anonymous per-client rate first; past it, 429 with Retry-After and nothing written.
    from rems.http.anonymous import counter_for
    counter = counter_for(configured)
    limit, counter.per_minute = counter.per_minute, 3
    try:
        answers = [walker.ours.get("/web/login/oidc") for _ in range(5)]
    finally:
        counter.per_minute = limit
    assert [a.status_code for a in answers[:3]] == [303, 303, 303]
    assert {a.status_code for a in answers[3:]} == {429} and answers[3].headers["Retry-After"]
    assert [s[1] for s in sign_in_steps(configured)] == ["oidc_authorize"] * 3
