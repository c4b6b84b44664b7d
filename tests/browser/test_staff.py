"""Program staff in a real browser (issue 18 items 3 and 4): a pharmacy onboarded end to end without
a shell (enrolled, certified, a token issued once and signed in with, then suspended with a reason
and its token revoked), every new page checked with axe-core and the basic checks, at desktop
width and at 375 px; and a session ending after its idle time."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from rems.services.commands import RecordDispense, parse
from rems.services.dispensing import prescriptions
from tests.api.world import ADMIN, World
from tests.browser.a11y import assert_accessible, assert_fits
from tests.browser.axe import assert_axe_clean
from tests.browser.conftest import NARROW, Server, serving, shot

OpenPage = Callable[..., Page]


def _checked(page: Page) -> None:
    assert_accessible(page)
    assert_axe_clean(page)


def _sign_in(page: Page, token: str) -> None:
    page.goto("/web/login")
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def _dispensed_hours_after_prescription(w: World, hours: tuple[int, ...]) -> None:
    """Prescriptions written `hours` ago (the cast's clock set back), dispensed now."""
    now = w.clock
    for i, ago in enumerate(hours):
        w.clock = lambda ago=ago: datetime.now(UTC) - timedelta(hours=ago)  # type: ignore[misc]
        number = w.authorization(w.patient(w.doc, "adult_male"), w.doc)[1]
        w.clock = now
        site = (w.pharm, w.other_pharm)[i % 2]
        w.call(prescriptions.record_dispense, parse(
            RecordDispense, confirmation_number=w.confirmation(number, site), pharmacy_id=site,
            counselled=True, education_checklist_completed=True, medication_guide_given=True))


def test_staff_onboard_a_pharmacy_end_to_end_without_a_shell(server: Server, open_page: OpenPage) -> None:
    w = server.world()
    name, ncpdp = f"Harbour Pharmacy {secrets.token_hex(2)}", f"{1_900_000 + secrets.randbelow(99_999)}"
    admin = open_page()
    _sign_in(admin, w.tokens[ADMIN])
    expect(admin.get_by_role("heading", level=1)).to_have_text("Certification queue")
    _checked(admin)

    admin.get_by_role("link", name="Enroll a pharmacy").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Enroll a pharmacy")
    _checked(admin)
    admin.get_by_label("Pharmacy name").fill(name)
    admin.get_by_label("NCPDP provider id").fill(ncpdp)
    for box in ("An authorized representative", "The dispensing staff", "keeps records"):
        admin.get_by_label(re.compile(box)).check()
    admin.get_by_role("button", name="Enroll the pharmacy").click()
    expect(admin.get_by_role("heading", level=1)).to_contain_text(name)
    pharmacy_id = re.search(r"/web/admin/pharmacies/(phm_[0-9a-f]+)", admin.url)
    assert pharmacy_id
    row = admin.locator(f'tr[id="pomalidomide-{pharmacy_id.group(1)}"]')
    expect(row).to_have_attribute("data-state", "enrolled")
    _checked(admin)

    admin.get_by_role("button", name=f"certify {name} in pomalidomide").click()  # R25
    expect(row).to_have_attribute("data-state", "certified")
    admin.get_by_label("Valid for (days)").fill("30")
    admin.get_by_role("button", name="Issue a token").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Token issued")
    _checked(admin)
    shot(admin, "admin-token-issued")
    secret = admin.get_by_test_id("secret").inner_text().strip()
    admin.get_by_role("link", name=re.compile("Back to the pharmacy")).click()
    assert secret not in admin.content()  # shown once
    shot(admin, "admin-pharmacy")

    pharmacist = open_page()
    _sign_in(pharmacist, secret)
    expect(pharmacist.get_by_role("heading", level=1)).to_have_text("Pharmacy dashboard")

    admin.get_by_role("button", name=f"suspend {name} in pomalidomide").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(f"Suspend {name} in pomalidomide?")
    _checked(admin)
    admin.get_by_role("button", name=f"Suspend {name} in pomalidomide").click()  # no reason yet
    expect(admin.get_by_label("Reason (required)")).to_be_visible()
    admin.get_by_label("Reason (required)").fill("dispensing audit pending")
    admin.get_by_role("button", name=f"Suspend {name} in pomalidomide").click()
    expect(row).to_have_attribute("data-state", "suspended")

    admin.get_by_role("button", name=re.compile(r"Revoke token tok_")).click()
    expect(admin.get_by_role("heading", level=1)).to_contain_text("Revoke token")
    _checked(admin)
    admin.get_by_role("button", name=re.compile(r"Revoke token tok_")).click()
    expect(admin.get_by_test_id("done")).to_contain_text("revoked")
    pharmacist.reload()
    expect(pharmacist.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect(pharmacist.get_by_role("status")).to_contain_text("revoked")

    _dispensed_hours_after_prescription(w, (8, 26, 50))  # for the assessment's figures
    admin.goto(f"/web/admin/programs/pomalidomide/pharmacies?q={ncpdp}")
    expect(admin.locator("tbody tr")).to_have_count(1)
    _checked(admin)
    admin.get_by_role("link", name="Assessment").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Assessment figures")
    expect(admin.locator("img.plot")).to_have_count(2)
    _checked(admin)
    shot(admin, "admin-assessment")


def test_the_staff_pages_fit_a_375_px_screen(server: Server, open_page: OpenPage) -> None:
    w = server.world()
    phone = open_page(NARROW)
    _sign_in(phone, w.tokens[ADMIN])
    for path in ("/web/admin", "/web/admin/enroll/prescriber", "/web/admin/enroll/pharmacy",
                 f"/web/admin/pharmacies/{w.pharm}", f"/web/admin/prescribers/{w.doc}",
                 "/web/admin/programs/pomalidomide/prescribers", "/web/admin/assessment", "/web/admin/outbox"):
        phone.goto(path)
        assert_fits(phone)
        _checked(phone)
    phone.goto(f"/web/admin/prescribers/{w.doc}")
    phone.get_by_role("button", name=re.compile(r"^suspend .* in pomalidomide$")).click()
    assert_fits(phone)
    _checked(phone)
    shot(phone, "admin-confirm-narrow")


IDLE_SERVER_MINUTES = 1  # the smallest idle time the setting allows: the test waits it out


@pytest.fixture(scope="module")
def idle_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A second `rems serve` whose sessions end after one idle minute (REMS_WEB_IDLE_MINUTES)."""
    with serving(tmp_path_factory.mktemp("idle"), REMS_WEB_IDLE_MINUTES=str(IDLE_SERVER_MINUTES)) as running:
        yield running


def test_a_shared_workstation_signs_itself_out_after_the_idle_time(chromium: Browser, idle_server: Server) -> None:
    w = idle_server.world()
    context = chromium.new_context(base_url=idle_server.url)
    try:
        page = context.new_page()
        _sign_in(page, w.tokens[w.pharm])
        expect(page.get_by_role("heading", level=1)).to_have_text("Pharmacy dashboard")
        time.sleep(IDLE_SERVER_MINUTES * 60 + 2)
        page.reload()
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
        expect(page.get_by_role("status")).to_contain_text("after 1 min without activity")
        _checked(page)
    finally:
        context.close()
