"""The programs pages in a real browser (issue 17 items 4 and 5): an administrator records
enforcement discretion with a reason (after a confirmation) and sees it on the programs list; a
relaxation the program file declares is activated by one administrator and approved by a second,
who sees who activated it. Every page checked with axe-core and the basic checks, and at 375 px."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, expect

from tests.api.world import ADMIN
from tests.browser.a11y import assert_fits
from tests.browser.conftest import DESKTOP, NARROW, Server, serving, shot
from tests.browser.test_staff import _checked, _sign_in
from workflows.program import PROGRAM_DIR

SECOND_ADMIN = "ops-admin-2"
RELAXATION = """
[[relaxations]]
name = "portal_down"
description = "the REMS portal is down"
waives = ["R26"]
max_days_supply = 4
max_hours = 24
"""


@pytest.fixture(scope="module")
def relaxed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose pomalidomide file declares a relaxation (the shipped files declare none)."""
    folder = tmp_path_factory.mktemp("programs-ui")
    programs = folder / "programs"
    shutil.copytree(PROGRAM_DIR, programs)
    with (programs / "pomalidomide.toml").open("a", encoding="utf-8") as file:
        file.write(RELAXATION)
    with serving(folder, REMS_PROGRAM_DIR=str(programs)) as running:
        yield running


def test_discretion_is_recorded_and_a_relaxation_needs_two_administrators(
        relaxed: Server, chromium: Browser) -> None:
    w = relaxed.world()
    w.token("admin", SECOND_ADMIN)
    contexts = [chromium.new_context(base_url=relaxed.url, viewport=DESKTOP)]  # type: ignore[arg-type]
    try:
        first = contexts[0].new_page()
        _sign_in(first, w.tokens[ADMIN])
        first.get_by_role("link", name="Programs").click()
        expect(first.get_by_role("heading", level=1)).to_have_text("Programs")
        _checked(first)
        first.get_by_role("link", name="Pomalidomide REMS", exact=False).first.click()
        expect(first.locator('[data-testid="state"]')).to_have_text("active")
        _checked(first)

        # L1: enforcement discretion from today (the program's calendar), with a reason, confirmed.
        today = datetime.now(UTC).astimezone(ZoneInfo("America/New_York")).date().isoformat()
        first.get_by_label("New state").select_option("enforcement_discretion")
        first.get_by_label("Effective from (program's calendar)").fill(today)
        first.get_by_label("Reason (required; kept in the audit trail)").fill("FDA letter: discretion")
        first.get_by_role("button", name="Review the change…").click()
        expect(first.get_by_role("heading", level=1)).to_contain_text("enforcement discretion")
        _checked(first)
        first.get_by_role("button", name=f"Record enforcement discretion from {today}").click()
        expect(first.locator('[data-testid="done"]')).to_contain_text("enforcement discretion")
        first.get_by_role("link", name="Programs", exact=True).first.click()
        row = first.locator("#program-pomalidomide")
        expect(row).to_have_attribute("data-state", "enforcement_discretion")
        expect(row).to_contain_text("FDA letter: discretion (admin:ops-admin)")

        # L2: activated by the first administrator, who cannot approve it …
        first.goto("/web/admin/programs/pomalidomide")
        first.get_by_label("Why the program's systems cannot be used (required)").fill("portal outage")
        first.get_by_role("button", name="Activate portal_down").click()
        expect(first.locator('[data-testid="needs-second"]')).to_be_visible()
        activation = first.locator("tr[data-activation]").first
        expect(activation).to_have_attribute("data-state", "awaiting approval")
        _checked(first)
        shot(first, "admin-program")

        # … and approved by a second, who sees who activated it.
        contexts.append(chromium.new_context(base_url=relaxed.url, viewport=NARROW))  # type: ignore[arg-type]
        second = contexts[1].new_page()
        _sign_in(second, w.tokens[SECOND_ADMIN])
        second.goto("/web/admin/programs/pomalidomide")
        mine = second.locator("tr[data-activation]").first
        expect(mine.locator('[data-testid="activated-by"]')).to_contain_text("admin:ops-admin")
        assert_fits(second)
        _checked(second)
        mine.get_by_role("button", name="Approve").click()
        expect(second.locator('[data-testid="done"]')).to_contain_text("Approved portal_down")
        expect(second.locator("tr[data-activation]").first).to_have_attribute("data-state", "in force")
        for path in ("/web/admin/programs", "/web/admin/programs/pomalidomide/uses",
                     "/web/admin/programs/pomalidomide/diff"):
            second.goto(path)
            assert_fits(second)
            _checked(second)
        shot(second, "admin-program-narrow")
    finally:
        for context in contexts:
            context.close()
