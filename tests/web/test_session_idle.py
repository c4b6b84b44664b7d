"""Issue 18 item 4: a dashboard session ends after REMS_WEB_IDLE_MINUTES without a request (shared
workstations) and 12 hours after sign-in whatever its use; time moves only by the test's clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from rems.asgi import create_app
from rems.bootstrap import App
from rems.settings import Settings
from tests.api.conftest import Clock
from tests.api.world import World
from tests.web.conftest import Browser, signed_in

IDLE = 15  # the documented default (docs/configuration.md)


def test_the_idle_timeout_defaults_to_fifteen_minutes_and_is_bounded() -> None:
    assert Settings().web_idle_minutes == IDLE
    assert Settings(web_idle_minutes=5).web_idle_minutes == 5
    for bad in (0, 721):
        with pytest.raises(ValueError, match="web_idle_minutes"):
            Settings(web_idle_minutes=bad)


def test_a_session_unused_for_the_idle_time_ends_and_says_why(browser: Browser, w: World,
                                                              clock: Clock) -> None:
    signed_in(browser, w, w.doc)
    clock.advance(minutes=IDLE, seconds=-1)
    assert browser.get("/web/prescriber").status_code == 200  # just in time: this request renews it
    clock.advance(minutes=IDLE, seconds=-1)
    assert browser.get("/web/prescriber").status_code == 200
    clock.advance(minutes=IDLE)
    response = browser.get("/web/prescriber")
    assert response.status_code == 303 and response.headers["location"] == "/web/login?ended=idle"
    assert "after 15 min without activity" in browser.get("/web/login?ended=idle").text
    assert "AUTH_SESSION_IDLE" in w.refusals("anonymous")
    assert browser.get("/web/prescriber").status_code == 303  # the cookie was cleared


def test_a_form_post_renews_the_idle_timeout_too(browser: Browser, w: World, clock: Clock) -> None:
    signed_in(browser, w, w.pharm)
    csrf = browser.csrf("/web/pharmacy")
    clock.advance(minutes=IDLE - 1)
    posted = browser.client.post("/web/pharmacy/check", data={"number": w.number, "csrf": csrf})
    assert posted.status_code in (200, 303, 409)
    clock.advance(minutes=IDLE - 1)
    assert browser.get("/web/pharmacy").status_code == 200


def test_a_session_in_constant_use_still_ends_twelve_hours_after_sign_in(browser: Browser, w: World,
                                                                         clock: Clock) -> None:
    signed_in(browser, w, w.doc)
    for _ in range(12 * 60 // 10 - 1):  # a request every 10 minutes for 11 h 50 min
        clock.advance(minutes=10)
        assert browser.get("/web/prescriber").status_code == 200
    clock.advance(minutes=10)
    response = browser.get("/web/prescriber")
    assert response.headers["location"] == "/web/login?ended=absolute"
    assert "12 hours at most" in browser.get("/web/login?ended=absolute").text


@pytest.fixture
def short_idle(app: App, clock: Clock) -> Iterator[TestClient]:
    app.settings = app.settings.model_copy(update={"web_idle_minutes": 2})
    with TestClient(create_app(app, clock), follow_redirects=False) as client:
        yield client


def test_the_idle_time_is_the_setting(short_idle: TestClient, w: World, clock: Clock) -> None:
    browser = Browser(short_idle)
    signed_in(browser, w, w.doc)
    clock.advance(minutes=1, seconds=59)
    assert browser.get("/web/prescriber").status_code == 200
    clock.advance(minutes=2)
    assert browser.get("/web/prescriber").headers["location"] == "/web/login?ended=idle"
