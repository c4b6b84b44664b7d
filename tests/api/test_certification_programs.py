"""The API names the program of every certification (R1, R3, R25): without one it is refused
(422 naming `program_id`) where several programs are loaded, and defaults to the deployment's
program where it runs only one; showing a prescriber or pharmacy lists its certification per program."""

from __future__ import annotations

from fastapi.testclient import TestClient

from rems.bootstrap import App
from tests.api.world import ADMIN, World

A = "/v1/admin"


def test_a_certification_without_a_program_is_422_naming_program_id(client: TestClient, w: World) -> None:
    pending = w.prescriber(certify=False)
    refused = client.post(f"{A}/prescribers/{pending}/certify", headers=w.auth(ADMIN))
    assert refused.status_code == 422 and refused.json()["field"] == "program_id"
    assert "several programs" in refused.json()["detail"]
    unknown = client.post(f"{A}/prescribers/{pending}/certify", headers=w.auth(ADMIN),
                          json={"program_id": "nowhere"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "program_id"
    assert w.certification_state("prescriber", pending) is None  # nothing written


def test_certifying_in_lenalidomide_leaves_pomalidomide_alone_and_shows_both(client: TestClient, w: World) -> None:
    admin = w.auth(ADMIN)
    done = client.post(f"{A}/pharmacies/{w.pharm}/certify", headers=admin, json={"program_id": "lenalidomide"})
    assert done.status_code == 200
    assert {k: done.json()[k] for k in ("kind", "id", "program_id", "state")} == {
        "kind": "pharmacy", "id": w.pharm, "program_id": "lenalidomide", "state": "certified"}
    client.post(f"{A}/pharmacies/{w.pharm}/suspend", headers=admin, json={"program_id": "lenalidomide"})
    shown = client.get(f"{A}/pharmacies/{w.pharm}", headers=admin).json()["certifications"]
    assert [(c["program_id"], c["state"]) for c in shown] == [("lenalidomide", "suspended"),
                                                               ("pomalidomide", "certified")]
    mine = client.get("/v1/pharmacy/me", headers=w.auth(w.pharm)).json()["certifications"]
    assert mine == shown
    check = client.get(f"/v1/pharmacy/authorizations/{w.number}/check", headers=w.auth(w.pharm)).json()
    assert check["allowed"]  # a pomalidomide authorization: the lenalidomide suspension does not apply
    doc = client.get("/v1/prescriber/me", headers=w.auth(w.doc)).json()["certifications"]
    assert [(c["program_id"], c["state"]) for c in doc] == [("pomalidomide", "certified")]


def test_with_one_program_loaded_the_default_program_applies(client: TestClient, w: World,
                                                             rems_app: App) -> None:
    rems_app.programs = {"pomalidomide": rems_app.programs["pomalidomide"]}
    pending = w.prescriber(certify=False)
    done = client.post(f"{A}/prescribers/{pending}/certify", headers=w.auth(ADMIN))
    assert done.status_code == 200 and done.json()["program_id"] == "pomalidomide"
