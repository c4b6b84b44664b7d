"""Nothing a user types produces a 500 or a half-written record: every field of every form, with
values people (and attackers) send, gets a 4xx naming the field or a normal page."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from rems.domain.model import AuditEntry, Patient, Ppaf, PregnancyTest, Prescription
from tests.api.world import ADMIN, World
from tests.web.conftest import Browser, signed_in

NASTY = ["", "\x00", "a\x00b", "x" * 5000, "<script>alert(1)</script>", "'; DROP TABLE patients; --", "1e309",
         "-1", "99999999999999999999", "2026-02-30", "9999-12-31T23:59", "﷽𝕏😀", "\r\n"]

FORMS = {
    "/web/prescriber/patients/new": ("name", "sex", "birth_date", "ppaf.category", "ppaf.signed_by",
                                     "ppaf.guardian_name", "facts.postmenopausal_since", "program_id",
                                     "facts.menarche", "facts.postmenopausal", "time_zone",
                                     "identifier.system", "identifier.value"),
    "/web/prescriber/patients/{frp}/tests": ("collected_at", "result", "sensitivity_miu_per_ml", "setting"),
    "/web/prescriber/patients/{frp}/prescriptions": ("days_supply", "quantity"),
    "/web/prescriber/patients/{frp}/ppaf": ("ppaf.category", "ppaf.guardian_name", "facts.postmenopausal_since",
                                            "facts.menarche", "facts.postmenopausal"),
    "/web/prescriber/patients/{frp}/time-zone": ("time_zone",),
}
VALID = {"name": "Valid Name", "sex": "female", "birth_date": "1990-01-31", "ppaf.category": "adult_frp",
         "collected_at": "2026-03-01T09:00", "result": "negative", "sensitivity_miu_per_ml": "25",
         "days_supply": "28", "quantity": "21", "facts.menarche": "yes", "facts.hysterectomy": "no",
         "facts.bilateral_oophorectomy": "no", "facts.postmenopausal": "no", "time_zone": "America/Chicago"}


def _never_broken(status: int, text: str, kind: str = "text/html") -> None:
    assert status < 500, text[:500]
    if kind.startswith("text/html"):
        assert "<script>alert(1)</script>" not in text  # typed HTML comes back escaped


@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_prescriber_form_field_with_nasty_values_gets_a_page_never_a_500(
        form: str, browser: Browser, w: World) -> None:
    signed_in(browser, w, w.doc)
    csrf = browser.csrf("/web/prescriber")
    before, accepted = (w.count(Patient), w.count(Ppaf)), 0
    path = form.format(frp=w.frp)
    for field in FORMS[form]:
        for value in NASTY:
            response = browser.client.post(path, data={**VALID, field: value, "csrf": csrf})
            _never_broken(response.status_code, response.text)
            if "\x00" in value:  # refused before any service runs, beside the field
                assert response.status_code == 422 and "contains control characters" in response.text
            accepted += response.status_code == 303
    # Each accepted enrollment or renewal is whole (a PPAF each); every refused one left nothing.
    enrolled = accepted if path.endswith("/new") else 0
    ppafs = accepted if path.endswith(("/new", "/ppaf")) else 0
    assert (w.count(Patient), w.count(Ppaf)) == (before[0] + enrolled, before[1] + ppafs)


def test_nasty_ids_in_the_address_get_a_page_never_a_500(browser: Browser, w: World) -> None:
    signed_in(browser, w, w.doc)
    for value in NASTY:  # ids in the address reach the database too
        for path in (f"/web/prescriber/patients/{quote(value, safe='')}",
                     f"/web/prescriber/patients/{w.frp}?rx={quote(value, safe='')}"):
            _never_broken(*_status(browser.get(path)))


def test_nasty_values_at_the_pharmacy_admin_and_sign_in_never_produce_a_500(browser: Browser, w: World) -> None:
    for value in NASTY:
        _never_broken(*_status(browser.client.post("/web/login", data={"token": value,
                                                                        "csrf": browser.csrf()})))
    signed_in(browser, w, w.pharm)
    csrf = browser.csrf("/web/pharmacy")
    for value in NASTY:
        for path, field in (("/web/pharmacy/check", "number"), ("/web/pharmacy/check", "patient_id"),
                            ("/web/pharmacy/confirmations", "number"),
                            ("/web/pharmacy/dispenses", "confirmation_number")):
            form = {"number": w.number, field: value, "csrf": csrf}
            _never_broken(*_status(browser.client.post(path, data=form)))
    browser.client.cookies.clear()
    signed_in(browser, w, ADMIN)
    for value in NASTY:
        for query in ({"entity": "patient", "entity_id": value}, {"entity": value, "entity_id": w.frp}):
            _never_broken(*_status(browser.get("/web/admin/audit", params=query)))


def test_odd_requests_get_client_errors_not_500s(browser: Browser, w: World) -> None:
    signed_in(browser, w, w.doc)
    client = browser.client
    for response in (
        client.post("/web/prescriber/patients/new", content=b"\xff\xfe garbage",
                    headers={"content-type": "multipart/form-data; boundary=x"}),
        client.post("/web/prescriber/patients/new", json={"name": "json is not a form"}),
        client.post("/web/prescriber/patients/new", files={"name": ("a.txt", b"file")}),
        client.get("/web/prescriber/patients/" + "p" * 3000),
    ):
        assert 400 <= response.status_code < 500, response.text[:300]


def test_a_refused_form_writes_nothing_at_all(browser: Browser, w: World) -> None:
    """The PPAF mismatch is refused after the patient row was added in the same transaction."""
    signed_in(browser, w, w.doc)
    counts = (w.count(Patient), w.count(PregnancyTest), w.count(Prescription))
    audit_before = w.count(AuditEntry)
    response = browser.submit("/web/prescriber/patients/new", {
        "name": "Half Written", "sex": "male", "birth_date": "1980-01-01", "ppaf.category": "adult_frp"},
        "/web/prescriber/patients/new")
    assert response.status_code == 409
    assert (w.count(Patient), w.count(PregnancyTest), w.count(Prescription)) == counts
    assert w.count(AuditEntry) == audit_before


def _status(response: object) -> tuple[int, str, str]:
    return (response.status_code, response.text,  # type: ignore[attr-defined]
            response.headers.get("content-type", ""))  # type: ignore[attr-defined]
