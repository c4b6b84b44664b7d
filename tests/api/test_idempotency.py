"""Idempotency-Key (issue 3): a retry returns the first response and creates nothing; the key
reused for another request is refused; a failed request leaves no key behind."""

from __future__ import annotations

from fastapi.testclient import TestClient

from rems.domain.model import Confirmation, Dispense, Patient
from tests.api.world import ADMIN, World

ENROLL = {"name": "Retry Patient", "sex": "male", "birth_date": "1980-05-01",
          "ppaf": {"category": "adult_male"}}


def test_a_retry_with_the_same_key_returns_the_first_response_and_creates_nothing(
        client: TestClient, w: World) -> None:
    headers = {**w.auth(w.doc), "Idempotency-Key": "enroll-1"}
    before = w.count(Patient)
    first = client.post("/v1/prescriber/patients", headers=headers, json=ENROLL)
    retry = client.post("/v1/prescriber/patients", headers=headers, json=dict(reversed(ENROLL.items())))
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    assert w.count(Patient) == before + 1


def test_the_same_key_with_another_body_or_route_is_refused(client: TestClient, w: World) -> None:
    headers = {**w.auth(w.doc), "Idempotency-Key": "enroll-2"}
    assert client.post("/v1/prescriber/patients", headers=headers, json=ENROLL).status_code == 201
    before = w.count(Patient)
    other_body = client.post("/v1/prescriber/patients", headers=headers, json={**ENROLL, "name": "Other"})
    other_route = client.post(f"/v1/prescriber/patients/{w.male}/interrupt", headers=headers)
    for refused in (other_body, other_route):
        assert refused.status_code == 422
        assert refused.json()["field"] == "Idempotency-Key"
    assert w.count(Patient) == before
    assert w.state_of(Patient, w.male) == "active"


def test_keys_belong_to_one_actor(client: TestClient, w: World) -> None:
    mine = client.post("/v1/prescriber/patients", headers={**w.auth(w.doc), "Idempotency-Key": "k"},
                       json=ENROLL)
    # Another person (R34: the same one would be refused as already enrolled), the same key.
    theirs = client.post("/v1/prescriber/patients", headers={**w.auth(w.other_doc), "Idempotency-Key": "k"},
                         json={**ENROLL, "name": "Someone Else"})
    assert theirs.status_code == 201 and theirs.json()["id"] != mine.json()["id"]
    assert theirs.json()["prescriber_id"] == w.other_doc


def test_a_refused_request_stores_no_key_so_the_fixed_retry_runs(client: TestClient, w: World) -> None:
    headers = {**w.auth(w.pharm), "Idempotency-Key": "confirm-1"}
    url = f"/v1/pharmacy/authorizations/{w.number}/confirmations"
    client.post(f"/v1/admin/pharmacies/{w.pharm}/suspend", headers=w.auth(ADMIN), json={"program_id": "pomalidomide"})
    assert client.post(url, headers=headers, json={}).status_code == 409
    client.post(f"/v1/admin/pharmacies/{w.pharm}/reinstate", headers=w.auth(ADMIN),
                json={"program_id": "pomalidomide"})
    assert client.post(url, headers=headers, json={}).status_code == 201
    assert client.post(url, headers=headers, json={}).status_code == 201
    assert w.count(Confirmation) == 1


def test_a_dispense_retried_after_a_lost_response_is_recorded_once(client: TestClient, w: World) -> None:
    number = w.confirmation(w.number, w.pharm)
    body = {"confirmation_number": number, "counselled": True, "education_checklist_completed": True,
            "medication_guide_given": True}
    headers = {**w.auth(w.pharm), "Idempotency-Key": "dispense-1"}
    responses = [client.post("/v1/pharmacy/dispenses", headers=headers, json=body) for _ in range(3)]
    assert [r.status_code for r in responses] == [201, 201, 201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert w.count(Dispense) == 1
    without_key = client.post("/v1/pharmacy/dispenses", headers=w.auth(w.pharm), json=body)
    assert without_key.status_code == 409  # R33: a new request, not a retry


def test_a_malformed_key_is_422(client: TestClient, w: World) -> None:
    for key in ("has space", "k" * 201):
        response = client.post("/v1/admin/sweep", headers={**w.auth(ADMIN), "Idempotency-Key": key})
        assert response.status_code == 422
        assert response.json()["field"] == "Idempotency-Key"
