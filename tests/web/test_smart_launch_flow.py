"""Issue 16 item 4: the EHR launch of our dashboard from a CDS card's `smart` link (SMART App Launch
2.2), against an EHR authorization server run as its own process (tests/setup/smart_ehr.py): the
`iss` allow-listed, the EHR's smart-configuration read, PKCE and the `launch` scope, the code
exchanged, `fhirUser` mapped through REMS_CDS_PRACTITIONERS, the card's page opened as that
prescriber; every step audited, every refusal a page (R5, R6, R8, R15, R19: the forms launched)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from rems.bootstrap import App
from rems.web.smart_launch import app_context
from tests.api.conftest import Clock
from tests.api.world import World
from tests.setup.providers import smart_ehr
from tests.web.sign_in_walk import Walker, query_of, real_time, sign_in_steps, walking, with_query

CDS_ISSUER = "https://ehr.example.org"  # the EHR's CDS Hooks JWT issuer, whose practitioners we map


@pytest.fixture(scope="session")
def ehr() -> Iterator[str]:
    with smart_ehr() as fhir_base:
        yield fhir_base


@pytest.fixture
def clock() -> Clock:
    return real_time()


@pytest.fixture
def configured(app: App, w: World, ehr: str) -> App:
    app.settings.cds_issuers = {CDS_ISSUER: f"{ehr.removesuffix('/fhir')}/jwks"}
    app.settings.cds_practitioners = {CDS_ISSUER: {"Practitioner/dr-123": w.doc}}
    app.settings.smart_issuers = {ehr: CDS_ISSUER}
    return app


@pytest.fixture
def walker(configured: App, clock: Clock) -> Iterator[Walker]:
    with walking(configured, clock) as walker:
        yield walker


def _launch(ehr: str, practitioner: str = "Practitioner/dr-123", rems_patient: str = "") -> str:
    """The EHR's side: a launch context for its user and patient, as it makes before opening our page;
    the appContext is the card's (rems/interop/smart.py: docs/standards.md's example)."""
    context = {"program": "pomalidomide", "providerSystemPatientId": "ehr-patient-1", "rule": "R8",
               **({"remsPatientId": rems_patient} if rems_patient else {})}
    made = httpx.post(f"{ehr.removesuffix('/fhir')}/_test/launch", json={
        "fhirUser": f"{ehr}/{practitioner}", "patient": "ehr-patient-1", "appContext": json.dumps(context)})
    launch: str = made.json()["launch"]
    return launch


def _open(walker: Walker, page: str, ehr: str, launch: str) -> Any:
    """The EHR opens the card's page with `iss` and `launch`: the way to the EHR's authorization."""
    opened = walker.ours.get(page, params={"iss": ehr, "launch": launch})
    assert opened.status_code == 303 and opened.headers["location"].startswith("/web/smart/launch?")
    return walker.get(opened.headers["location"])


def test_an_ehr_launch_opens_the_cards_page_as_the_mapped_prescriber(walker: Walker, ehr: str, w: World,
                                                                      configured: App) -> None:
    page = f"/web/prescriber/patients/{w.male}"  # a card's link for doc's patient
    launch = _launch(ehr)
    to_ehr = _open(walker, page, ehr, launch)
    assert to_ehr.status_code == 303
    sent = query_of(to_ehr.headers["location"])
    assert to_ehr.headers["location"].startswith(f"{ehr.removesuffix('/fhir')}/authorize?")
    assert sent["launch"] == launch and sent["aud"] == ehr and "launch" in sent["scope"].split()
    assert sent["code_challenge_method"] == "S256" and sent["client_id"] == "rems-dashboard"
    landed = walker.follow(to_ehr, stop_at="/web/prescriber")
    assert landed.status_code == 303 and landed.headers["location"] == page
    shown = walker.ours.get(page)
    assert shown.status_code == 200
    assert walker.ours.get(f"/web/prescriber/patients/{w.stranger}").status_code == 404  # doc's patients only
    steps = sign_in_steps(configured)
    assert [s[1] for s in steps] == ["smart_authorize", "smart_token", "sign_in_smart"]
    assert steps[0][2] == {"iss": ehr, "page": page}
    assert steps[1][2] == {"iss": ehr, "practitioner": "Practitioner/dr-123", "ehr_patient": "ehr-patient-1",
                           "program": "pomalidomide", "rule": "R8"}
    assert steps[2][0] == f"prescriber:{w.doc}" and steps[2][2]["practitioner"] == "Practitioner/dr-123"


def test_a_launch_from_an_ehr_not_allowed_is_refused(walker: Walker, ehr: str, w: World, configured: App) -> None:
    other = "http://127.0.0.1:9/fhir"
    refused = _open(walker, f"/web/prescriber/patients/{w.male}", other, "any-launch")
    assert refused.status_code == 403
    assert "does not accept launches from the EHR at http://127.0.0.1:9/fhir" in refused.text
    assert sign_in_steps(configured) == [("anonymous", "refused", {"code": "SMART_ISS_NOT_ALLOWED", "iss": other})]


def test_a_practitioner_not_mapped_to_a_prescriber_is_refused(walker: Walker, ehr: str, w: World,
                                                              configured: App) -> None:
    to_ehr = _open(walker, f"/web/prescriber/patients/{w.male}", ehr, _launch(ehr, "Practitioner/nurse-9"))
    refused = walker.follow(to_ehr)
    assert refused.status_code == 403 and "Practitioner/nurse-9" in refused.text
    assert "not linked to a prescriber of this REMS" in refused.text
    assert walker.ours.get("/web/prescriber").status_code == 303  # no session opened
    assert sign_in_steps(configured)[-1][2] == {"code": "SMART_PRACTITIONER_UNMAPPED", "iss": ehr,
                                                "practitioner": "Practitioner/nurse-9"}


def test_an_answer_with_another_state_is_refused(walker: Walker, ehr: str, w: World, configured: App) -> None:
    to_ehr = _open(walker, f"/web/prescriber/patients/{w.male}", ehr, _launch(ehr))
    answer = walker.theirs.get(to_ehr.headers["location"])
    assert answer.status_code == 302
    refused = walker.get(with_query(answer.headers["location"], state="forged"))
    assert refused.status_code == 400 and "state mismatch" in refused.text
    assert sign_in_steps(configured)[-1][2] == {"code": "SIGN_IN_STATE_MISMATCH"}


def test_a_launch_never_sends_the_browser_off_our_dashboard(walker: Walker, ehr: str) -> None:
    # `page` is ours to set; given by hand it may not name another site (an open redirect).
    to_ehr = walker.ours.get("/web/smart/launch", params={"iss": ehr, "launch": _launch(ehr),
                                                          "page": "//evil.example/web/x"})
    landed = walker.follow(to_ehr, stop_at="/web/")
    assert landed.headers["location"] == "/web/prescriber"


def test_a_page_opened_without_a_launch_is_the_page_as_ever(walker: Walker, w: World) -> None:
    assert walker.ours.get(f"/web/prescriber/patients/{w.male}", params={"iss": "x"}).headers[
        "location"].startswith("/web/login")


def test_refused_launches_are_counted_as_anonymous_refusals(walker: Walker, w: World, configured: App) -> None:
    # Issue 15 item 8: anonymous refusals are counted per client and route (and past the rate a 429).
    walker.ours.get("/web/smart/launch", params={"iss": "http://127.0.0.1:9/fhir", "launch": "x"})
    assert "SMART_ISS_NOT_ALLOWED" in w.refusals("anonymous")


def test_a_launch_of_the_bare_app_url_opens_the_patient_of_the_app_context(walker: Walker, ehr: str,
                                                                           w: World) -> None:
    # A deferred launch from the Task in a work queue may open the application URL alone.
    to_ehr = walker.ours.get("/web/smart/launch", params={"iss": ehr, "launch": _launch(ehr, rems_patient=w.male)})
    landed = walker.follow(to_ehr, stop_at="/web/")
    assert landed.headers["location"] == f"/web/prescriber/patients/{w.male}"
    assert walker.ours.get(landed.headers["location"]).status_code == 200


def test_an_app_context_naming_another_prescribers_patient_shows_nothing_of_it(walker: Walker, ehr: str,
                                                                               w: World) -> None:
    to_ehr = walker.ours.get("/web/smart/launch", params={"iss": ehr, "launch": _launch(ehr, rems_patient=w.stranger)})
    landed = walker.follow(to_ehr, stop_at="/web/")
    assert walker.ours.get(landed.headers["location"]).status_code == 404  # scoped to doc, as ever


@pytest.mark.parametrize("given", [None, 7, "not json", "[1]", '{"remsPatientId": "../admin"}',
                                   '{"remsPatientId": {"$ne": 1}}', '{"rule": "' + "x" * 65 + '"}'])
def test_an_app_context_that_is_not_ours_is_ignored(given: object) -> None:
    assert app_context(given) == {}
