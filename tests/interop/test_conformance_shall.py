"""One test per SHALL that binds a REMS Administrator System: the six of issue 16's text and those of
the US Medication REMS IG STU2 (HL7/fhir-medication-rems-ig at ca2a84f). docs/conformance.md lists
each with its source, where it is met, and its gaps. SQLite and PostgreSQL (the `app` fixture).

The expected answers are the IG's words (paths, names, shapes), not our code's output.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from fastapi.testclient import TestClient

from rems.asgi import create_app
from rems.bootstrap import App
from rems.interop.codes import REMS_PATIENT
from tests.api.conftest import Clock
from tests.interop import conformance_check as cc
from tests.interop.conftest import BASE, Population
from tests.interop.ehr_fhir_server import FhirEhr, fhir_ehr  # noqa: F401 (the fixture)
from tests.interop.fhir_helpers import POMALYST_4MG_NDC, case, medication, patient
from tests.interop.jwks import Ehr
from tests.interop.test_cds_hooks import hook, order
from tests.interop.test_cds_jwt import ehr  # noqa: F401 (the fixture)
from tests.interop.test_cds_prefetch import post, reading_app
from tests.interop.test_fhir_questionnaires import RIGHT, SURVEY
from tests.interop.test_fhir_questionnaires import response as questionnaire_response

FHIR_JSON = "application/fhir+json"


def ok(response: Any, shape: str | None = None) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    body: dict[str, Any] = response.json()
    assert cc.violations(body, shape) == []
    return body


# -- issue 16: "SHALL offer RESTful FHIR (JSON)"; IG rems-administrator-system rest.documentation
def test_shall_offer_restful_fhir_in_json(client: TestClient) -> None:
    statement = ok(client.get("/fhir/r4/metadata", headers={"Accept": FHIR_JSON}), "rems-capability")
    assert statement["rest"][0]["mode"] == "server" and "json" in statement["format"]
    assert ok(client.get("/fhir/r4/metadata?_format=json"))["resourceType"] == "CapabilityStatement"
    assert client.get("/fhir/r4/Patient/1").headers["content-type"].startswith(FHIR_JSON)  # errors too


# -- issue 16: "SHALL offer ... SMART App Launch"; IG specification.md (SHALL follow SMART App Launch)
def test_shall_offer_smart_app_launch_from_cards(linked: TestClient, client: TestClient,
                                                  p: Population) -> None:
    response = linked.post("/cds-services/rems-order-sign", headers=p.auth(p.w.doc), json=hook(None))
    [card] = response.json()["cards"]
    [smart] = [link for link in card["links"] if link["type"] == "smart"]
    assert urlsplit(smart["url"]).scheme == "https" and smart["url"].startswith(BASE)  # our launch URL
    assert json.loads(smart["appContext"])["providerSystemPatientId"] == "ehr-1"  # the EHR's context
    # The EHR launch handshake on that URL (launch, iss, PKCE) is tests/web/test_smart_launch_flow.py's;
    # the CapabilityStatement declares SMART App Launch (CAP-9) and no gap is left on it.
    assert "CAP-9" not in cc.known_gaps()
    guides = client.get("/fhir/r4/metadata").json()["implementationGuide"]
    assert any(g.startswith("http://hl7.org/fhir/smart-app-launch/ImplementationGuide/") for g in guides)


# -- issue 16 and IG specification.md "Submitting Completed Questionnaires": SHALL support $submit
def test_shall_support_questionnaire_response_submit(client: TestClient, p: Population) -> None:
    frp = p.w.patient(p.w.doc, "adult_frp")
    path = "/fhir/r4/QuestionnaireResponse/$submit"  # the IG's path pattern
    body = ok(client.post(path, headers=p.auth(frp), json=questionnaire_response(SURVEY, RIGHT)))
    assert body["issue"][0]["severity"] == "information"
    wrapped = {"resourceType": "Parameters", "parameter": [
        {"name": "questionnaireResponse", "resource": questionnaire_response(SURVEY, RIGHT)}]}
    assert client.post(path, headers=p.auth(frp), json=wrapped).status_code == 200  # as an operation's Parameters


# -- issue 16 and IG "Out-of-band ETASU Check": SHALL support GuidanceResponse/$rems-etasu
def test_shall_support_rems_etasu_by_patient_and_medication_or_case_number(client: TestClient,
                                                                          p: Population) -> None:
    path = "/fhir/r4/GuidanceResponse/$rems-etasu"  # the IG's path pattern
    by_patient = ok(client.post(path, headers=p.auth(p.w.doc), json={"resourceType": "Parameters", "parameter": [
        patient(p.ready), medication(POMALYST_4MG_NDC)]}), "rems-etasu-output")
    [guidance] = cc.select(by_patient, "parameter[name=rems-etasu].resource")
    assert guidance["status"] == "success"  # "Completed" in the IG's table
    # "The operation will also return the case number if available": the number the EHR sends
    # as REMSAuthorizationNumber in its NewRx is the one our pharmacy check takes.
    assert cc.select(guidance, "contained.parameter[name=case_number].valueString") == [p.ready_number]
    by_case = ok(client.post(path, headers=p.auth(p.w.pharm), json={"resourceType": "Parameters", "parameter": [
        case(p.ready_number, "case_number")]}), "rems-etasu-output")
    assert cc.select(by_case, "parameter.resource.status") == ["success"]


# -- issue 16: "SHALL offer Questionnaire/{id}/$questionnaire-package (a Bundle of the Questionnaire,
# its ValueSets and Libraries)"; IG "Rendering the Shared SMART app"
def test_shall_offer_the_questionnaire_package_bundle(client: TestClient, p: Population) -> None:
    bundle = ok(client.get(f"/fhir/r4/Questionnaire/{SURVEY}/$questionnaire-package", headers=p.auth(p.w.doc)),
                "questionnaire-package")
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds[0] == "Questionnaire" and set(kinds) <= {"Questionnaire", "ValueSet", "Library"}
    assert "ValueSet" in kinds and cc.package_resolves(bundle) == []  # each choice's options are there


# -- issue 16 and IG cds-cards.md "External Reference": at least one Card.link, of type absolute
def test_shall_give_external_reference_cards_an_absolute_link(linked: TestClient, p: Population) -> None:
    found: list[dict[str, Any]] = []
    for body, service in ((hook(p.w.frp), "rems-order-sign"), (hook(None), "rems-order-sign"),
                          (hook("pat_unknown", "patient-view"), "rems-patient-view")):
        found += linked.post(f"/cds-services/{service}", headers=p.auth(p.w.doc), json=body).json()["cards"]
    linking = [card for card in found if "links" in card]
    assert len(linking) >= 3
    for card in linking:
        assert any(link["type"] == "absolute" for link in card["links"])
        assert all(urlsplit(link["url"]).scheme in ("http", "https") and urlsplit(link["url"]).netloc
                   for link in card["links"])


# -- IG medication-rems-task-smart-launch: reasonReference SHALL be populated if the task relates
# to a specific prescription
def test_shall_name_the_prescription_in_the_deferred_task(linked: TestClient, p: Population) -> None:
    def task(orders: list[dict[str, Any]]) -> dict[str, Any]:
        [card] = linked.post("/cds-services/rems-order-sign", headers=p.auth(p.w.doc),
                             json=hook(None, orders=orders)).json()["cards"]
        [found] = cc.select(card, "suggestions.actions.resource")
        assert cc.violations(found, "rems-task-smart-launch") == []
        return found  # type: ignore[no-any-return]
    assert task([order(oid="mr-77")])["reasonReference"] == {"reference": "MedicationRequest/mr-77"}
    unnamed = order()
    del unnamed["resource"]["id"]  # a draft with no id: there is no prescription to point at
    assert "reasonReference" not in task([unnamed])


# -- IG "REMS Workflow-Related Privacy and Security": SHALL follow CDS Hooks "Security and Safety"
# and SMART App Launch (the JWT itself: tests/interop/test_cds_jwt.py)
def test_shall_refuse_unauthenticated_cds_and_fhir_calls(client: TestClient) -> None:
    assert client.post("/cds-services/rems-order-sign", json=hook(None)).status_code == 401
    response = client.post("/fhir/r4/GuidanceResponse/$rems-etasu", json={"resourceType": "Parameters"})
    assert response.status_code == 401 and response.json()["resourceType"] == "OperationOutcome"


# -- IG "Prefetch": the REMS Administrator's CDS service SHALL query the Provider System for the
# resources (Patient, MedicationRequest, Practitioner...) not provided in the CDS request. CDS Hooks
# 2.0 "FHIR Resource Access": with the request's fhirServer and fhirAuthorization (bearer) token.
# The EHR here is real (its JWK Set and its FHIR server on loopback); more in test_cds_prefetch.py.
def test_shall_query_the_provider_system_when_prefetch_is_missing(
        app: App, clock: Clock, ehr: Ehr, p: Population, fhir_ehr: FhirEhr) -> None:  # noqa: F811
    body = hook(p.w.frp)
    del body["prefetch"]
    body["fhirServer"] = fhir_ehr.base
    body["fhirAuthorization"] = {"access_token": "x-7", "token_type": "Bearer", "expires_in": 300,
                                 "scope": "patient/Patient.read", "subject": "rems"}
    fhir_ehr.hold({"resourceType": "Patient", "id": "ehr-1",
                   "identifier": [{"system": REMS_PATIENT, "value": p.w.frp}]})
    with TestClient(create_app(reading_app(app, ehr, p, [fhir_ehr.base]), clock)) as client:
        response = post(client, ehr, clock, body)
    found = response.json()["cards"]
    assert response.status_code == 200 and "Bad Request" not in {c["summary"] for c in found}
    assert [c["source"]["topic"]["code"] for c in found] == ["R9", "R9", "R20"]  # her unmet ETASU
    [read] = fhir_ehr.requests()  # the Provider System was queried, with the EHR's token
    assert (read["path"], read["headers"]["authorization"]) == ("/fhir/Patient/ehr-1", "Bearer x-7")
