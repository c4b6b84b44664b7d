"""Every route: success, bad input naming the field (422), another actor's record (404, audited),
and the table in endpoints.py covering every operation of the OpenAPI document."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.api.endpoints import ENDPOINTS, Call
from tests.api.world import World

BY_ROUTE = {e.route: e for e in ENDPOINTS}
PROBLEM = "application/problem+json"


def send(client: TestClient, w: World, call: Call) -> Response:
    return client.request(call.method, call.path, headers=w.auth(call.actor), params=call.params,
                          json=call.body)


def test_the_table_covers_every_operation_of_the_api(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    operations = {f"{method.upper()} {path}" for path, ops in document["paths"].items() for method in ops}
    assert operations == set(BY_ROUTE)


@pytest.mark.parametrize("route", BY_ROUTE)
def test_success(route: str, client: TestClient, w: World) -> None:
    endpoint = BY_ROUTE[route]
    response = send(client, w, endpoint.ok(w))
    assert response.status_code == endpoint.status, response.text
    assert response.headers["content-type"] == endpoint.content_type
    assert response.headers["x-request-id"]


@pytest.mark.parametrize("route", [e.route for e in ENDPOINTS if e.bad])
def test_bad_input_is_422_naming_the_field(route: str, client: TestClient, w: World) -> None:
    make, field = BY_ROUTE[route].bad or (None, "")
    assert make is not None
    response = send(client, w, make(w))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["field"] == field
    assert problem["status"] == 422 and problem["type"] == "urn:rems:problem:invalid-input"
    assert field in problem["detail"]


@pytest.mark.parametrize("route", [e.route for e in ENDPOINTS if e.other])
def test_another_actors_record_is_404_and_the_refusal_is_audited(route: str, client: TestClient,
                                                                 w: World) -> None:
    make = BY_ROUTE[route].other
    assert make is not None
    call = make(w)
    response = send(client, w, call)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == PROBLEM
    assert w.refusals(call.actor) == ["AUTH_NOT_FOUND_OR_NOT_YOURS"]


def test_another_prescribers_patient_looks_exactly_like_a_missing_one(client: TestClient, w: World) -> None:
    """A prescriber must not learn that another prescriber's patient exists."""
    theirs = client.get(f"/v1/prescriber/patients/{w.stranger}", headers=w.auth(w.doc)).json()
    missing = client.get("/v1/prescriber/patients/pat_000000000000", headers=w.auth(w.doc)).json()
    for problem in (theirs, missing):
        problem.pop("request_id")
    assert theirs == {**missing, "detail": missing["detail"].replace("pat_000000000000", w.stranger),
                      "instance": missing["instance"].replace("pat_000000000000", w.stranger)}


def test_a_prescriber_lists_only_their_own_patients(client: TestClient, w: World) -> None:
    listed = client.get("/v1/prescriber/patients", headers=w.auth(w.doc)).json()
    assert {p["patient_id"] for p in listed} == {w.male, w.frp}
    assert client.get("/v1/prescriber/patients", headers=w.auth(w.other_doc)).json()[0]["patient_id"] \
        == w.stranger


def test_a_patient_cannot_name_another_patient(client: TestClient, w: World) -> None:
    response = client.post("/v1/patient/survey", headers=w.auth(w.male), json={"patient_id": w.stranger})
    assert response.status_code == 422
    assert response.json()["field"] == "patient_id"
