"""Issue 18 item 3: the program's staff onboard prescribers and pharmacies without a shell (R1, R2,
R25), issue and revoke their tokens (shown once, stored hashed), suspend and revoke with a reason
after a confirmation (R3, R25), and find anyone in paged queues, per program."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from rems.asgi import create_app
from rems.domain.access import ApiToken, token_hash
from rems.domain.model import Pharmacy, Prescriber, Prescription
from rems.services.enrollment.certification import REASON_GIVEN
from tests.api.conftest import Clock
from tests.api.world import ADMIN, World
from tests.service.builders import npi_of
from tests.web.conftest import Browser, signed_in

NEW_PHARMACY = {"name": "Corner Pharmacy", "ncpdp_id": "1987654", "representative_enrolled": "on",
                "staff_trained": "on", "records_and_audits_accepted": "on"}


def _enroll_pharmacy(browser: Browser, form: dict[str, str] = NEW_PHARMACY) -> str:
    done = browser.submit("/web/admin/enroll/pharmacy", form, "/web/admin/enroll/pharmacy")
    assert done.status_code == 303, done.text
    found = re.fullmatch(r"/web/admin/pharmacies/(phm_[0-9a-f]+)\?enrolled=1", done.headers["location"])
    assert found, done.headers["location"]
    return found.group(1)


def _issue(browser: Browser, plural: str, record_id: str, days: str = "30") -> tuple[str, str]:
    page = f"/web/admin/{plural}/{record_id}"
    issued = browser.submit(f"{page}/tokens", {"expires_in_days": days}, page)
    assert issued.status_code == 200, issued.text
    secret = re.search(r'data-testid="secret">([^<]+)<', issued.text)
    token_id = re.search(r"Token <code>(tok_[0-9a-f]+)</code>", issued.text)
    assert secret and token_id
    return token_id.group(1), secret.group(1)


def test_staff_enroll_a_pharmacy_certify_it_and_issue_a_token_it_signs_in_with(
        browser: Browser, w: World, client: TestClient, clock: Clock) -> None:
    signed_in(browser, w, ADMIN)
    pharmacy_id = _enroll_pharmacy(browser)
    page = browser.get(f"/web/admin/pharmacies/{pharmacy_id}?enrolled=1").text
    assert "Corner Pharmacy" in page and "1987654" in page and 'data-testid="done"' in page
    assert f'<tr id="pomalidomide-{pharmacy_id}" data-state="enrolled"' in page  # R25: per program
    certified = browser.submit(f"/web/admin/pharmacies/{pharmacy_id}/certify",
                               {"program_id": "pomalidomide", "back": f"/web/admin/pharmacies/{pharmacy_id}"},
                               f"/web/admin/pharmacies/{pharmacy_id}")
    assert certified.headers["location"] == f"/web/admin/pharmacies/{pharmacy_id}"
    assert w.certification_state("pharmacy", pharmacy_id) == "certified"
    assert w.certification_state("pharmacy", pharmacy_id, "lenalidomide") is None

    token_id, secret = _issue(browser, "pharmacies", pharmacy_id, "30")
    with w.app.uow() as uow:  # only the hash is stored, as by `rems token create`
        token = uow.get(ApiToken, token_id)
        assert token.token_hash == token_hash(secret) and token.role == "pharmacy"
        assert token.actor_id == pharmacy_id and (token.expires_at - clock.now).days == 30
    again = browser.get(f"/web/admin/pharmacies/{pharmacy_id}").text
    assert secret not in again and f'data-token="{token_id}" data-status="active"' in again

    with TestClient(create_app(w.app, clock), follow_redirects=False) as other:
        response = Browser(other).sign_in(secret)
        assert response.status_code == 303 and response.headers["location"] == "/web/pharmacy"


def test_enrollment_refuses_bad_identifiers_beside_the_field_and_writes_nothing(
        browser: Browser, w: World) -> None:
    signed_in(browser, w, ADMIN)
    before = w.count(Pharmacy), w.count(Prescriber)
    form = "/web/admin/enroll/pharmacy"
    bad = browser.submit(form, {**NEW_PHARMACY, "ncpdp_id": "12345"}, form)
    assert bad.status_code == 422 and 'id="f-ncpdp_id-error"' in bad.text
    assert 'value="Corner Pharmacy"' in bad.text  # what was typed is kept
    _enroll_pharmacy(browser)
    twice = browser.submit(form, NEW_PHARMACY, form)
    assert twice.status_code == 422 and "already enrolled" in twice.text
    doctor = "/web/admin/enroll/prescriber"
    luhn = npi_of(1, 190_000_000)
    wrong = luhn[:-1] + str((int(luhn[-1]) + 1) % 10)  # R1: the last digit is a Luhn check digit
    refused = browser.submit(doctor, {"name": "Dr New", "npi": wrong}, doctor)
    assert refused.status_code == 422 and 'id="f-npi-error"' in refused.text
    assert (w.count(Pharmacy), w.count(Prescriber)) == (before[0] + 1, before[1])
    done = browser.submit(doctor, {"name": "Dr New", "npi": luhn, "attested": "on"}, doctor)
    assert done.status_code == 303 and "/web/admin/prescribers/prs_" in done.headers["location"]
    assert browser.get("/web/admin/enroll/wizard").status_code == 404


def test_a_token_is_revoked_after_a_confirmation_and_its_sessions_end(
        browser: Browser, w: World, clock: Clock) -> None:
    signed_in(browser, w, ADMIN)
    token_id, secret = _issue(browser, "pharmacies", w.pharm)
    with TestClient(create_app(w.app, clock), follow_redirects=False) as other:
        pharmacist = Browser(other)
        assert pharmacist.sign_in(secret).status_code == 303
        page = f"/web/admin/pharmacies/{w.pharm}"
        asked = browser.submit(f"/web/admin/tokens/{token_id}/revoke", {}, page)
        assert asked.status_code == 200 and "Revoke token" in asked.text
        assert pharmacist.get("/web/pharmacy").status_code == 200  # nothing changed yet
        done = browser.submit(f"/web/admin/tokens/{token_id}/revoke", {"confirmed": "yes"}, page)
        assert done.status_code == 303
        with w.app.uow() as uow:
            assert uow.get(ApiToken, token_id).revoked_at == clock.now
        assert pharmacist.get("/web/pharmacy").headers["location"] == "/web/login?ended=revoked"
    admin_token = _token_of(w, ADMIN)  # an administrator's token is not managed from these pages
    refused = browser.submit(f"/web/admin/tokens/{admin_token}/revoke", {"confirmed": "yes"}, "/web/admin")
    assert refused.status_code == 422
    assert browser.get("/web/admin").status_code == 200


def _token_of(w: World, actor: str) -> str:
    with w.app.uow() as uow:
        token = uow.token_by_hash(token_hash(w.tokens[actor]))
        assert token is not None
        return token.id


def test_an_invalid_token_lifetime_is_refused_beside_the_field(browser: Browser, w: World) -> None:
    signed_in(browser, w, ADMIN)
    page = f"/web/admin/prescribers/{w.doc}"
    for days in ("0", "3651", "soon"):
        refused = browser.submit(f"{page}/tokens", {"expires_in_days": days}, page)
        assert refused.status_code == 422 and 'id="f-expires_in_days-error"' in refused.text
    assert browser.submit("/web/admin/prescribers/prs_nobody/tokens", {}, "/web/admin").status_code == 404


def test_suspending_asks_for_a_confirmation_and_a_reason_which_is_audited_r3(
        browser: Browser, w: World) -> None:
    signed_in(browser, w, ADMIN)
    path, form = f"/web/admin/prescribers/{w.doc}/suspend", {"program_id": "pomalidomide"}
    asked = browser.submit(path, form, "/web/admin")
    assert asked.status_code == 200 and 'name="reason"' in asked.text and "R3" in asked.text
    assert w.certification_state("prescriber", w.doc) == "certified"
    assert w.state_of(Prescription, w.rx) != "voided"  # one click changes nothing
    no_reason = browser.submit(path, {**form, "confirmed": "yes", "reason": "  "}, "/web/admin")
    assert no_reason.status_code == 422 and 'id="f-reason-error"' in no_reason.text
    assert w.certification_state("prescriber", w.doc) == "certified"
    forged = browser.client.post(path, data={**form, "confirmed": "yes", "reason": "x"})
    assert forged.status_code == 403  # the confirmation carries the session's CSRF token too
    done = browser.submit(path, {**form, "confirmed": "yes", "reason": "licence under review",
                                 "back": "https://elsewhere.example/"}, "/web/admin")
    assert done.status_code == 303 and done.headers["location"] == f"/web/admin#pomalidomide-{w.doc}"
    assert w.certification_state("prescriber", w.doc) == "suspended"
    assert w.state_of(Prescription, w.rx) == "voided"  # R3
    with w.app.uow() as uow:
        entry = [a for a in uow.audit_trail("prescriber", w.doc) if a.trigger == "suspend"][-1]
        assert entry.actor == f"admin:{ADMIN}"
        assert {"rule": "R3", "code": REASON_GIVEN, "message": "licence under review"}.items() <= \
            entry.reasons[-1].items()


def test_revoking_a_pharmacy_asks_a_reason_and_is_audited_r25(browser: Browser, w: World) -> None:
    signed_in(browser, w, ADMIN)
    path = f"/web/admin/pharmacies/{w.pharm}/revoke"
    form = {"program_id": "pomalidomide", "back": f"/web/admin/pharmacies/{w.pharm}"}
    assert "Revoke" in browser.submit(path, form, "/web/admin").text
    assert w.certification_state("pharmacy", w.pharm) == "certified"
    done = browser.submit(path, {**form, "confirmed": "yes", "reason": "audit failed"}, "/web/admin")
    assert done.headers["location"] == f"/web/admin/pharmacies/{w.pharm}"
    assert w.certification_state("pharmacy", w.pharm) == "revoked"
    with w.app.uow() as uow:
        entry = [a for a in uow.audit_trail("pharmacy", w.pharm) if a.trigger == "revoke"][-1]
        assert entry.reasons[-1]["rule"] == "R25" and entry.reasons[-1]["message"] == "audit failed"
    again = browser.submit(path, form, "/web/admin")  # revoked is final: no reason asked for nothing
    assert again.status_code == 409 and "cannot revoke while revoked" in again.text
    enrolled = browser.submit(f"/web/admin/prescribers/{w.prescriber(certify=False)}/suspend",
                              {"program_id": "pomalidomide"}, "/web/admin")
    assert enrolled.status_code == 409 and "cannot suspend while enrolled" in enrolled.text


def test_every_queue_is_searched_and_paged_waiting_ones_first(browser: Browser, w: World) -> None:
    extra = [w.pharmacy() for _ in range(26)]  # with the cast's two: 28 certified pharmacies
    signed_in(browser, w, ADMIN)
    waiting = _enroll_pharmacy(browser)  # enrolled, not certified: first in the queue
    base = "/web/admin/programs/pomalidomide/pharmacies"
    first = browser.get(base).text
    rows = re.findall(r'<tr id="pomalidomide-(phm_[0-9a-f]+)" data-state="(\w+)"', first)
    assert len(rows) == 25 and rows[0] == (waiting, "enrolled")
    assert "Page 1 of 2 (29 in all)" in first
    assert 'data-count-state="certified">certified: 28' in first
    second = re.findall(r'<tr id="pomalidomide-(phm_[0-9a-f]+)"', browser.get(f"{base}?page=2").text)
    assert len(second) == 4 and not set(second) & {r[0] for r in rows}
    assert {r[0] for r in rows} | set(second) == {w.pharm, w.other_pharm, waiting, *extra}

    with w.app.uow() as uow:
        ncpdp = uow.get(Pharmacy, extra[5]).ncpdp_id
    by_id = re.findall(r'<tr id="pomalidomide-(phm_[0-9a-f]+)"', browser.get(f"{base}?q={ncpdp}").text)
    assert by_id == [extra[5]]
    by_name = browser.get(f"{base}?q=corner").text  # case-insensitive, part of the name
    assert re.findall(r'<tr id="pomalidomide-(phm_[0-9a-f]+)"', by_name) == [waiting]
    only = browser.get(f"{base}?state=enrolled").text
    assert re.findall(r'<tr id="pomalidomide-(phm_[0-9a-f]+)"', only) == [waiting]
    for wildcard in ("%25", "_"):  # LIKE's wildcards are plain characters: no name holds them
        assert re.findall(r'<tr id="pomalidomide-', browser.get(f"{base}?q={wildcard}").text) == []

    overview = browser.get("/web/admin").text
    pomalidomide = overview[overview.index('data-program="pomalidomide"'):overview.index('data-program="thalidomide"')]
    assert len(re.findall(r'<tr id="pomalidomide-phm_', pomalidomide)) == 10  # the first of each queue
    assert "All 29 pharmacies of pomalidomide" in pomalidomide
    for bad in ("?page=0", "?page=two", "?state=wizard"):
        assert browser.get(base + bad).status_code == 422
    assert browser.get("/web/admin/programs/nowhere/pharmacies").status_code == 404


def test_a_program_view_shows_certification_in_that_program_only_r1(browser: Browser, w: World) -> None:
    signed_in(browser, w, ADMIN)
    poma = browser.get("/web/admin/programs/pomalidomide/prescribers").text
    lena = browser.get("/web/admin/programs/lenalidomide/prescribers").text
    assert f'<tr id="pomalidomide-{w.doc}" data-state="certified"' in poma
    assert f'<tr id="lenalidomide-{w.doc}" data-state="enrolled"' in lena
    assert f'action="/web/admin/prescribers/{w.doc}/certify"' in lena
    assert 'data-count-state="certified">certified: 0' in lena


def test_staff_pages_are_for_the_administrator_only(browser: Browser, w: World) -> None:
    signed_in(browser, w, w.pharm)
    for path in ("/web/admin/enroll/pharmacy", f"/web/admin/pharmacies/{w.pharm}",
                 "/web/admin/programs/pomalidomide/pharmacies"):
        assert browser.get(path).status_code == 403
    assert w.refusals(w.pharm).count("AUTH_ROLE_FORBIDDEN") == 3
