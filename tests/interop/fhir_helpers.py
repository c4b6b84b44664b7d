"""Building $rems-etasu inputs and reading its outputs; every output is checked against FHIR R4B."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.parameters import Parameters

from rems.interop.codes import NDC, REMS_PATIENT, RXNORM

URL = "/fhir/r4/GuidanceResponse/$rems-etasu"
POMALIDOMIDE = (RXNORM, "1369713")
POMALYST_4MG_NDC = (NDC, "59572-504-21")


def patient(rems_id: str | None, name: str = "Test Patient") -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Patient", "id": "ehr-123", "gender": "female",
                                "birthDate": "1986-01-01", "name": [{"text": name}]}
    if rems_id is not None:
        resource["identifier"] = [{"system": "http://hospital.example/mrn", "value": "MRN-9"},
                                  {"system": REMS_PATIENT, "value": rems_id}]
    return {"name": "patient", "resource": resource}


def medication(coding: tuple[str, str] = POMALIDOMIDE, as_request: bool = False) -> dict[str, Any]:
    concept = {"coding": [{"system": coding[0], "code": coding[1]}]}
    if as_request:
        return {"name": "medication", "resource": {
            "resourceType": "MedicationRequest", "status": "draft", "intent": "order",
            "subject": {"reference": "Patient/ehr-123"}, "medicationCodeableConcept": concept}}
    return {"name": "medication", "resource": {"resourceType": "Medication", "code": concept}}


def case(number: str, name: str = "caseNumber") -> dict[str, Any]:
    return {"name": name, "valueString": number}


def call(client: TestClient, headers: dict[str, str], *parameters: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = client.post(URL, headers=headers, json={"resourceType": "Parameters",
                                                       "parameter": list(parameters)})
    return response.status_code, checked(response)


def checked(response: Any) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/fhir+json")
    body: dict[str, Any] = response.json()
    model = Parameters if body["resourceType"] == "Parameters" else OperationOutcome
    model.model_validate(body)  # R4 structure (R4B models)
    return body


def guidance(body: dict[str, Any]) -> dict[str, Any]:
    [param] = body["parameter"]
    assert param["name"] == "rems-etasu"
    resource: dict[str, Any] = param["resource"]
    assert resource["resourceType"] == "GuidanceResponse"
    return resource


def requirements(body: dict[str, Any]) -> dict[str, str]:
    """Nested GuidanceResponses: an unmet requirement's failure code, or a met one's rule id
    (issue 18.7: a met requirement carries no failure code), → its status."""
    resource = guidance(body)
    out = {}
    for contained in resource.get("contained", []):
        for param in contained["parameter"]:
            if "resource" in param:
                nested = param["resource"]
                key = nested["identifier"][0]["value"] if "identifier" in nested \
                    else nested["reasonCode"][0]["coding"][0]["code"]
                out[key] = nested["status"]
    return out


def case_number(body: dict[str, Any]) -> str | None:
    for contained in guidance(body).get("contained", []):
        for param in contained["parameter"]:
            if param["name"] == "case_number":
                return str(param["valueString"])
    return None


def unmet(body: dict[str, Any]) -> set[str]:
    return {code for code, status in requirements(body).items() if status != "success"}
