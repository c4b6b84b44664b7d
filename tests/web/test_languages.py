"""Issue 18 item 5: the patient's pages in English and Spanish, dates for the locale, the zone named (T1).

Expected texts come from the Spanish catalogue as written for people (rems/locales/es) and from
the calendar: 14:05 UTC on 1 December 2026 is 09:05 in New York (EST, UTC-5; T1)."""

from __future__ import annotations

from datetime import UTC, datetime

from rems.i18n import COOKIE
from tests.api.conftest import Clock
from tests.api.world import World
from tests.web import survey_answers
from tests.web.conftest import Browser, signed_in

SPANISH = {"Accept-Language": "es-US,es;q=0.9,en;q=0.5"}
WHEN = datetime(2026, 12, 1, 14, 5, tzinfo=UTC)


def _surveyed(browser: Browser, w: World, clock: Clock) -> Browser:
    clock.now = WHEN
    w.token("patient", w.male)
    signed_in(browser, w, w.male)
    assert browser.submit("/web/patient/survey", {"respondent": "patient", **survey_answers.FORM},
                          "/web/patient").status_code == 303  # issue 16.3: the program's questions answered
    return browser


def test_the_patients_page_is_in_english_by_default_with_the_date_and_zone(
        browser: Browser, w: World, clock: Clock) -> None:
    page = _surveyed(browser, w, clock).get("/web/patient").text
    assert '<html lang="en">' in page
    assert "Your REMS survey" in page and "Submit my answers" in page  # issue 16.3: the program's questions
    assert "December 1, 2026, 9:05\u202fAM EST, by the patient" in page  # CLDR: a narrow space before AM


def test_a_spanish_browser_gets_the_patients_page_in_spanish_with_a_spanish_date(
        browser: Browser, w: World, clock: Clock) -> None:
    page = _surveyed(browser, w, clock).get("/web/patient", headers=SPANISH).text
    assert '<html lang="es">' in page
    assert "<h1>Su encuesta REMS</h1>" in page
    assert "Enviar mis respuestas" in page and "Quién responde" in page
    assert "1 de diciembre de 2026, 9:05 EST, por el paciente" in page  # T1: the zone named
    assert "Cerrar sesión" in page and "Ir al contenido" in page
    assert "Your REMS survey" not in page


def test_the_switch_sets_a_cookie_that_outranks_the_browser(browser: Browser, w: World, clock: Clock) -> None:
    _surveyed(browser, w, clock)
    page = browser.get("/web/patient").text
    assert 'href="/web/language?to=es&amp;next=/web/patient" lang="es" hreflang="es">Español</a>' in page
    switched = browser.get("/web/language?to=es&next=/web/patient")
    assert switched.status_code == 303 and switched.headers["location"] == "/web/patient"
    assert f"{COOKIE}=es" in switched.headers["set-cookie"] and "httponly" in switched.headers["set-cookie"].lower()
    assert '<html lang="es">' in browser.get("/web/patient").text
    browser.get("/web/language?to=en&next=/web/patient")
    assert '<html lang="en">' in browser.get("/web/patient", headers=SPANISH).text  # the choice wins


def test_the_switch_never_redirects_off_the_dashboard_and_ignores_unknown_languages(browser: Browser) -> None:
    for target in ("https://evil.example/", "//evil.example/web/", "/api/v1/x", "/web/\\evil"):
        response = browser.get("/web/language", params={"to": "es", "next": target})
        assert response.status_code == 303 and response.headers["location"] == "/web/login"
    response = browser.get("/web/language", params={"to": "xx", "next": "/web/login"})
    assert "set-cookie" not in response.headers


def test_the_sign_in_page_and_its_notice_follow_the_browser(browser: Browser) -> None:
    page = browser.get("/web/login?ended=idle", headers=SPANISH).text
    assert '<html lang="es">' in page and "<h1>Iniciar sesión</h1>" in page and "Token de acceso" in page
    assert "Su sesión terminó tras 15 min sin actividad: vuelva a iniciar sesión." in page
    english = browser.get("/web/login?ended=idle").text
    assert "Your session ended after 15 min without activity: sign in again." in english


def test_a_refused_token_is_explained_in_spanish(browser: Browser) -> None:
    csrf = browser.csrf()
    refused = browser.client.post("/web/login", data={"token": "not-a-token", "csrf": csrf}, headers=SPANISH)
    assert refused.status_code == 401
    assert "este token no se reconoce: pida uno nuevo al administrador del programa" in refused.text


def test_an_error_page_a_patient_sees_is_in_spanish(browser: Browser, w: World, clock: Clock) -> None:
    _surveyed(browser, w, clock)
    page = browser.get("/web/prescriber", headers=SPANISH)
    assert page.status_code == 403
    assert "<h1>No corresponde a su función</h1>" in page.text
    assert "Esta página es para la función de médico que receta." in page.text
    assert "Volver a su panel" in page.text


def test_staff_pages_stay_english_whatever_the_browser_asks(browser: Browser, w: World) -> None:
    page = signed_in(browser, w, w.doc).get("/web/prescriber", headers=SPANISH).text
    assert '<html lang="en">' in page and "Sign out" in page and "/web/language" not in page
