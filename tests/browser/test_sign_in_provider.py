"""Issue 18 item 4 in a real browser: Debian's Chromium signs in through a real OpenID Provider
(oidc-provider-mock, its own process): our sign-in page, the provider's own form, back to the
dashboard as the mapped administrator; an unmapped account gets the page that says so."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.a11y import assert_accessible
from tests.browser.axe import assert_axe_clean
from tests.browser.conftest import DESKTOP, Server, serving, shot
from tests.setup.providers import free_port, openid_provider


@pytest.fixture(scope="module")
def provider_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    with openid_provider() as issuer, serving(
            tmp_path_factory.mktemp("oidc-browser"), port=port, REMS_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
            REMS_OIDC_ISSUER=issuer, REMS_OIDC_CLIENT_ID="rems-dashboard", REMS_OIDC_CLIENT_SECRET="browser-test",
            REMS_OIDC_LABEL="Example Health",
            REMS_OIDC_SUBJECTS=json.dumps({"alice@example.org": "admin:alice"})) as running:
        yield running


@pytest.fixture
def page(chromium: Browser, provider_site: Server) -> Iterator[Page]:
    context = chromium.new_context(base_url=provider_site.url, viewport=DESKTOP)  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def _through_the_provider(page: Page, subject: str) -> None:
    page.goto("/web/login")
    assert_accessible(page)
    assert_axe_clean(page)
    page.get_by_role("link", name="Sign in with Example Health").click()
    page.get_by_placeholder("sub").fill(subject)  # the provider's own page
    page.get_by_role("button", name="Authorize").click()


def test_staff_sign_in_through_the_provider_in_chromium(page: Page) -> None:
    _through_the_provider(page, "alice@example.org")
    expect(page).to_have_url(re.compile(r"/web/admin$"))  # back on the dashboard, as the mapped admin
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    shot(page, "sign-in-provider-admin")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Access token")).to_be_visible()


def test_an_unmapped_account_sees_why_in_chromium(page: Page) -> None:
    _through_the_provider(page, "mallory@example.org")
    expect(page.get_by_text("not linked to anyone on this REMS dashboard")).to_be_visible()
    assert_accessible(page)
    assert_axe_clean(page)
