"""The administrator's pages: the certification queue (R1-R3, R25) and the audit trail of any record."""

from __future__ import annotations

import re

from rems.domain.model import Patient, Prescription
from rems.services.enrollment import patients
from tests.api.world import ADMIN, World
from tests.web.conftest import Browser, signed_in


def test_the_queue_puts_newly_enrolled_first_and_certifying_is_audited_with_its_diagram(
        browser: Browser, w: World) -> None:
    pending = w.prescriber(certify=False)
    signed_in(browser, w, ADMIN)
    queue = browser.get("/web/admin").text
    pomalidomide = queue[queue.index('data-program="pomalidomide"'):queue.index('data-program="thalidomide"')]
    rows = re.findall(r'<tr id="pomalidomide-(prs_[0-9a-f]+)" data-state="(\w+)"', pomalidomide)
    assert rows[0] == (pending, "enrolled")
    assert f'action="/web/admin/prescribers/{pending}/certify"' in pomalidomide
    assert f'action="/web/admin/prescribers/{w.doc}/certify"' not in pomalidomide  # what the machine allows
    assert f'<tr id="lenalidomide-{w.doc}" data-state="enrolled"' in queue  # R1: not certified there
    done = browser.submit(f"/web/admin/prescribers/{pending}/certify", {"program_id": "pomalidomide"},
                          "/web/admin")
    assert done.status_code == 303
    assert w.certification_state("prescriber", pending) == "certified"
    assert w.certification_state("prescriber", pending, "lenalidomide") is None
    trail = browser.get(f"/web/admin/audit?entity=prescriber&entity_id={pending}").text
    assert f"admin:{ADMIN}" in trail and "certify" in trail
    assert 'aria-current="true">certified</li>' in trail


def test_suspending_a_prescriber_voids_their_authorizations_and_reinstating_restores_certification(
        browser: Browser, w: World) -> None:
    signed_in(browser, w, ADMIN)
    program = {"program_id": "pomalidomide"}
    confirmed = {**program, "confirmed": "yes", "reason": "licence under review"}
    browser.submit(f"/web/admin/prescribers/{w.doc}/suspend", confirmed, "/web/admin")
    assert w.certification_state("prescriber", w.doc) == "suspended"
    assert w.state_of(Prescription, w.rx) == "voided"  # R3
    browser.submit(f"/web/admin/prescribers/{w.doc}/reinstate", program, "/web/admin")
    assert w.certification_state("prescriber", w.doc) == "certified"


def test_a_certification_change_without_a_program_is_refused_naming_the_field(
        browser: Browser, w: World) -> None:
    """R1, R25: several programs are loaded, so the queue's form must name one."""
    signed_in(browser, w, ADMIN)
    response = browser.submit(f"/web/admin/prescribers/{w.doc}/suspend", {}, "/web/admin")
    assert response.status_code == 422 and "program_id" in response.text
    assert w.certification_state("prescriber", w.doc) == "certified"


def test_a_trigger_the_machine_refuses_is_shown_not_applied(browser: Browser, w: World) -> None:
    signed_in(browser, w, ADMIN)
    program = {"program_id": "pomalidomide"}
    response = browser.submit(f"/web/admin/pharmacies/{w.pharm}/reinstate", program, "/web/admin")
    assert response.status_code == 409 and "cannot reinstate while certified" in response.text
    for path in (f"/web/admin/pharmacies/{w.pharm}/lapse", f"/web/admin/wizards/{w.pharm}/certify"):
        assert browser.submit(path, program, "/web/admin").status_code == 422


def test_the_audit_trail_of_refused_accesses_and_of_a_missing_record(browser: Browser, w: World) -> None:
    signed_in(browser, w, w.doc)
    browser.get(f"/web/prescriber/patients/{w.stranger}")
    browser.client.cookies.clear()
    signed_in(browser, w, ADMIN)
    refused = browser.get(f"/web/admin/audit?entity=api&entity_id={w.doc}").text
    assert "AUTH_NOT_FOUND_OR_NOT_YOURS" in refused
    missing = browser.get("/web/admin/audit?entity=patient&entity_id=pat_nobody")
    assert missing.status_code == 404 and 'id="f-entity_id-error"' in missing.text
    assert browser.get("/web/admin/audit?entity=wizard&entity_id=x").status_code == 422


def test_the_administrator_transfers_readmits_and_corrects_from_the_patient_decisions_page_r34_r35(
        browser: Browser, w: World) -> None:
    signed_in(browser, w, ADMIN)
    page = "/web/admin/patients"
    assert 'action="/web/admin/patients/transfer"' in browser.get(page).text
    uncertified = w.prescriber(certify=False)
    refused = browser.submit(f"{page}/transfer", {"patient_id": w.male, "to_prescriber_id": uncertified}, page)
    assert refused.status_code == 409 and "R1" in refused.text
    done = browser.submit(f"{page}/transfer", {"patient_id": w.male, "to_prescriber_id": w.other_doc}, page)
    assert done.status_code == 303
    assert "1 open authorization" in browser.get(done.headers["location"]).text
    assert w.state_of(Prescription, w.rx) == "voided"
    with w.app.uow() as uow:
        assert uow.get(Patient, w.male).prescriber_id == w.other_doc

    nothing = browser.submit(f"{page}/readmission", {"patient_id": w.frp, "reason": "x"}, page)
    assert nothing.status_code == 422 and 'id="f-patient_id-error"' in nothing.text
    w.call(patients.report_pregnancy, w.frp, "patient")
    assert browser.submit(f"{page}/readmission", {"patient_id": w.frp, "reason": "reviewed"},
                          page).status_code == 303
    with w.app.uow() as uow:
        person = uow.get(Patient, w.frp).person_id
    assert "readmit" in browser.get(f"/web/admin/audit?entity=person&entity_id={person}").text

    facts = {"patient_id": w.frp, "facts.menarche": "yes", "facts.hysterectomy": "yes",
             "facts.bilateral_oophorectomy": "no", "facts.postmenopausal": "no"}
    no_reason = browser.submit(f"{page}/facts", facts, page)
    assert no_reason.status_code == 422 and 'id="f-reason-error"' in no_reason.text
    assert browser.submit(f"{page}/facts", {**facts, "reason": "surgery recorded late"}, page).status_code == 303
    with w.app.uow() as uow:
        assert uow.get(Patient, w.frp).hysterectomy is True
