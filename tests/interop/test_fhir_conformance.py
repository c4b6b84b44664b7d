"""FHIR discovery and errors: the CapabilityStatement at /fhir/r4/metadata, our OperationDefinitions,
and an OperationOutcome for every error on a /fhir/ path (404, 405, 401, 422). Every resource
is validated by the fhir.resources R4B models here, whatever the server already checked."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationdefinition import OperationDefinition
from fhir.resources.R4B.operationoutcome import OperationOutcome

from tests.interop.conftest import Population
from tests.interop.fhir_helpers import URL, call, medication, patient

FHIR_JSON = "application/fhir+json"


def resource(response: Any, model: Any) -> dict[str, Any]:
    assert response.headers["content-type"].startswith(FHIR_JSON), response.text
    body: dict[str, Any] = response.json()
    model.model_validate(body)
    return body


def issue(response: Any) -> dict[str, Any]:
    found: dict[str, Any] = resource(response, OperationOutcome)["issue"][0]
    return found


def test_metadata_is_a_capability_statement_of_the_rems_ig(client: TestClient) -> None:
    response = client.get("/fhir/r4/metadata")  # no token: discovery is public
    assert response.status_code == 200
    statement = resource(response, CapabilityStatement)
    assert (statement["kind"], statement["fhirVersion"], statement["format"]) == ("instance", "4.0.1", ["json"])
    assert statement["implementationGuide"][0].startswith(
        "http://hl7.org/fhir/us/medication-rems/ImplementationGuide/")
    rest = statement["rest"][0]
    assert rest["mode"] == "server" and rest["security"]["cors"] is True
    operations = {op["name"]: op["definition"] for r in rest["resource"] for op in r.get("operation", [])}
    assert list(operations) == ["rems-etasu", "questionnaire-package", "submit"]  # all served (issue 16.3)


def test_every_declared_operation_has_a_definition_we_serve(client: TestClient) -> None:
    statement = client.get("/fhir/r4/metadata").json()
    for entry in statement["rest"][0]["resource"]:
        for operation in entry.get("operation", []):
            url = operation["definition"]
            definition = resource(client.get(urlsplit(url).path), OperationDefinition)
            assert definition["url"] == url and definition["code"] == operation["name"]
            assert entry["type"] in definition["resource"] and definition["status"] == "active"


def test_the_rems_etasu_definition_names_the_parameters_the_operation_reads(
        client: TestClient, p: Population) -> None:
    definition = resource(client.get("/fhir/r4/OperationDefinition/rems-etasu"), OperationDefinition)
    inputs = {q["name"] for q in definition["parameter"] if q["use"] == "in"}
    assert inputs == {"patient", "medication", "caseNumber"}
    status, body = call(client, p.auth(p.w.doc), patient(p.ready), medication())
    assert status == 200
    outputs = {q["name"] for q in definition["parameter"] if q["use"] == "out"}
    assert {q["name"] for q in body["parameter"]} == outputs


@pytest.mark.parametrize(("code", "resource_type"), [("submit", "QuestionnaireResponse"),
                                                     ("questionnaire-package", "Questionnaire")])
def test_submit_and_the_package_are_defined_and_served(
        client: TestClient, p: Population, code: str, resource_type: str) -> None:
    definition = resource(client.get(f"/fhir/r4/OperationDefinition/{code}"), OperationDefinition)
    assert definition["status"] == "active" and definition["resource"] == [resource_type]
    path = "/fhir/r4/QuestionnaireResponse/$submit" if code == "submit" else \
        "/fhir/r4/Questionnaire/ppaf/$questionnaire-package"
    response = client.post(path, headers=p.auth(p.w.doc), json={"resourceType": "Parameters"})
    # issue 16.3: served; an empty Parameters is not a form, and "ppaf" is no Questionnaire of ours
    assert response.status_code == (400 if code == "submit" else 404)
    assert issue(response)["code"] == ("structure" if code == "submit" else "not-found")


@pytest.mark.parametrize("path", ["/fhir/r4/Patient/123", "/fhir/r4/OperationDefinition/unknown",
                                  "/fhir/r5/metadata", "/fhir/"])
def test_an_unknown_fhir_path_is_a_404_operation_outcome(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404 and issue(response)["code"] == "not-found"


def test_a_wrong_method_is_a_405_operation_outcome(client: TestClient, p: Population) -> None:
    for method, path in [("GET", URL), ("DELETE", "/fhir/r4/metadata"), ("OPTIONS", URL)]:
        response = client.request(method, path, headers=p.auth(p.w.doc))
        assert response.status_code == 405 and issue(response)["code"] == "not-supported", (method, path)
        assert "allow" in response.headers


def test_no_token_is_a_401_operation_outcome(client: TestClient) -> None:
    response = client.post(URL, json={"resourceType": "Parameters"})
    assert response.status_code == 401 and issue(response)["code"] == "login"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_invalid_input_is_a_422_operation_outcome_naming_the_field(client: TestClient, p: Population) -> None:
    response = client.get("/fhir/r4/OperationDefinition/bad!id")
    assert response.status_code == 422 and issue(response)["code"] == "invalid"
    assert issue(response)["expression"] == ["code"]
    status, missing = call(client, p.auth(p.w.doc), patient(p.ready))
    assert status == 422 and missing["issue"][0]["code"] == "required"


def test_other_routes_keep_problem_details(client: TestClient) -> None:
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"
