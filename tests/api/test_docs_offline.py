"""Issue 18 item 6: /docs and /redoc load every asset from this application, none from a CDN."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

# Every address a page makes the browser fetch: src/href attributes and the scripts' url strings.
FETCHED = re.compile(r'(?:src|href)\s*=\s*["\']([^"\']+)["\']|url:\s*["\']([^"\']+)["\']')


def _fetched(html: str) -> list[str]:
    return [a or b for a, b in FETCHED.findall(html)]


def test_swagger_ui_references_no_external_host_and_its_assets_are_served(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text
    addresses = _fetched(page.text)
    assert addresses, "the page fetches its assets"
    assert not [a for a in addresses if "//" in a], addresses  # no http://, https:// nor //host
    assert "cdn" not in page.text.lower()
    assert '"validatorUrl": null' in page.text  # no call to a public validator either
    for address in addresses:
        served = client.get(address)
        assert served.status_code == 200, address
    assert client.get("/docs-assets/swagger-ui-bundle.js").headers["content-type"].startswith(
        ("application/javascript", "text/javascript"))


def test_redoc_references_no_external_host_not_even_web_fonts(client: TestClient) -> None:
    page = client.get("/redoc")
    assert page.status_code == 200
    addresses = _fetched(page.text)
    assert not [a for a in addresses if "//" in a], addresses
    assert "fonts.googleapis" not in page.text
    assert all(client.get(a).status_code == 200 for a in addresses if a.startswith("/"))
