"""US Medication REMS IG STU2: a card that sends the prescriber elsewhere carries an absolute Card.link,
built on the configured public base URL, to a page our dashboard serves."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from rems.interop.cds import Link
from rems.settings import Settings
from tests.interop.conftest import BASE, Population
from tests.interop.test_cds_hooks import cards, hook


def links(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [link for card in found for link in card.get("links", [])]


def test_requirement_cards_link_to_the_patients_page_absolutely(linked: TestClient, p: Population) -> None:
    found = cards(linked, p, hook(p.w.frp))
    assert found and all(card.get("links") for card in found)
    for link in links(found):  # smart links too: absolute URLs on our public address (test_smart_launch.py)
        assert link["type"] in ("absolute", "smart") and link["url"] == f"{BASE}/web/prescriber/patients/{p.w.frp}"


def test_the_not_enrolled_card_links_to_enrollment(linked: TestClient, p: Population) -> None:
    [card] = cards(linked, p, hook(None))
    assert {link["url"] for link in card["links"]} == {f"{BASE}/web/prescriber/patients/new"}


def test_every_linked_page_is_served_by_the_dashboard(linked: TestClient, p: Population) -> None:
    found = cards(linked, p, hook(p.w.frp)) + cards(linked, p, hook(None)) + \
        cards(linked, p, hook("pat_unknown", "patient-view"), "rems-patient-view")
    for link in links(found):
        response = linked.get(urlsplit(link["url"]).path, follow_redirects=False)
        assert response.status_code in (200, 303), link  # 303: to the login page first


def test_a_relative_link_cannot_be_built() -> None:
    with pytest.raises(ValidationError, match="absolute"):
        Link(label="x", url="/web/prescriber")


@pytest.mark.parametrize("base", ["rems.example.org", "/web", "https://rems.example.org/"])
def test_the_public_base_url_must_be_absolute(base: str) -> None:
    with pytest.raises(ValidationError, match="REMS_PUBLIC_BASE_URL"):
        Settings(env="test", public_base_url=base)
