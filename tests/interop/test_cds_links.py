"""US Medication REMS IG STU2: a card that sends the prescriber elsewhere carries an absolute Card.link,
built on the configured public base URL, to a page our dashboard serves."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from rems.api.app import create_app
from rems.bootstrap import App
from rems.interop.cds import Link
from rems.settings import Settings
from tests.api.conftest import Clock
from tests.interop.conftest import Population
from tests.interop.test_cds_hooks import cards, hook

BASE = "https://rems.example.org:8443"


@pytest.fixture
def linked(app: App, clock: Clock) -> Iterator[TestClient]:
    settings = app.settings.model_copy(update={"public_base_url": BASE})
    with TestClient(create_app(dataclasses.replace(app, settings=settings), clock)) as test_client:
        yield test_client


def links(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [link for card in found for link in card.get("links", [])]


def test_requirement_cards_link_to_the_patients_page_absolutely(linked: TestClient, p: Population) -> None:
    found = cards(linked, p, hook(p.w.frp))
    assert found and all(card.get("links") for card in found)
    for link in links(found):
        assert link["type"] == "absolute" and link["url"] == f"{BASE}/web/prescriber/patients/{p.w.frp}"


def test_the_not_enrolled_card_links_to_enrollment(linked: TestClient, p: Population) -> None:
    [card] = cards(linked, p, hook(None))
    assert card["links"][0]["url"] == f"{BASE}/web/prescriber/patients/new"


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
