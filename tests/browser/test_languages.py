"""Issue 18 item 5 in Chromium: a Spanish browser gets the patient's pages in Spanish (lang="es"),
dates written the Spanish way with the zone named (T1), the switch back to English, and axe-core
still clean on every page in both languages."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.browser.a11y import assert_accessible
from tests.browser.axe import assert_axe_clean
from tests.browser.conftest import NARROW, Server, shot
from tests.web import survey_answers

SPANISH_DATE = re.compile(r"\d{1,2} de (enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|"
                          r"noviembre|diciembre) de \d{4}, \d{1,2}:\d\d E[SD]T, por el paciente")


def _spanish_page(chromium: Browser, server: Server) -> Page:
    context = chromium.new_context(base_url=server.url, viewport=NARROW, locale="es-US")  # Accept-Language
    context.set_default_timeout(10_000)
    return context.new_page()


def test_a_spanish_patient_signs_in_answers_the_survey_and_switches_to_english(
        chromium: Browser, server: Server) -> None:
    w = server.world()
    w.token("patient", w.male)
    page = _spanish_page(chromium, server)
    try:
        page.goto("/web/login")
        expect(page.locator("html")).to_have_attribute("lang", "es")
        expect(page.get_by_role("heading", level=1)).to_have_text("Iniciar sesión")
        assert_accessible(page)
        assert_axe_clean(page)
        page.get_by_label("Token de acceso").fill(w.tokens[w.male])
        page.get_by_role("button", name="Iniciar sesión").click()

        expect(page.get_by_role("heading", level=1)).to_have_text("Su encuesta REMS")
        page.get_by_label("Quién responde").select_option("patient")
        for link_id, answer in survey_answers.POMALIDOMIDE.items():  # issue 16.3: the program's questions
            page.locator(f'select[name="answers.{link_id}"]').select_option(answer)
        page.get_by_role("button", name="Enviar mis respuestas").click()
        expect(page.get_by_text(SPANISH_DATE)).to_be_visible()  # America/New_York, the program's zone
        expect(page.locator("html")).to_have_attribute("lang", "es")
        assert_accessible(page)
        assert_axe_clean(page)
        shot(page, "patient-spanish")

        page.get_by_role("navigation", name="Idioma").get_by_role("link", name="English").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Your REMS survey")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.get_by_text(re.compile(r"\w+ \d{1,2}, \d{4}, \d{1,2}:\d\d\s[AP]M E[SD]T, by the patient"))) \
            .to_be_visible()
        assert_axe_clean(page)
    finally:
        page.context.close()
