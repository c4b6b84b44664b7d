"""Issue 17 items 4-5 over HTTP, on SQLite and PostgreSQL: the admin's program routes, a 409 naming
the lifecycle code, and the reconciliation list (PROGRAMS.md "Program lifecycle", "Degraded
operation")."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from rems.asgi import create_app
from rems.bootstrap import App
from rems.services.enrollment import certification
from tests.api.conftest import Clock
from tests.api.world import ADMIN, World
from workflows.relaxations import RelaxationSpec

P = "/v1/admin/programs/pomalidomide"
SECOND_ADMIN = "ops-admin-2"
PHARMACY_DOWN = RelaxationSpec("pharmacy_portal_down", "certification records unreachable",
                               frozenset({"R25"}), max_days_supply=28, max_hours=12)


@pytest.fixture
def world(app: App) -> World:
    app.programs["pomalidomide"] = dataclasses.replace(app.programs["pomalidomide"],
                                                       relaxations=(PHARMACY_DOWN,))
    w = World(app, Clock()).cast()
    w.token("admin", SECOND_ADMIN)
    # A pharmacy suspended in the program: its check fails R25 only.
    w.call(certification.change_certification, "pharmacy", w.other_pharm, "suspend", "pomalidomide")
    return w


@pytest.fixture
def http(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.app, world.clock)) as client:
        yield client


def check(http: TestClient, w: World) -> dict:  # type: ignore[type-arg]
    answer = http.get(f"/v1/pharmacy/authorizations/{w.number}/check", headers=w.auth(w.other_pharm))
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_status_is_admin_only_and_shows_the_declared_relaxations(http: TestClient, world: World) -> None:
    assert http.get(f"{P}/status", headers=world.auth(world.doc)).status_code == 403
    shown = http.get(f"{P}/status", headers=world.auth(ADMIN)).json()
    assert shown["state"] == "active" and shown["relaxations"][0]["name"] == "pharmacy_portal_down"


def test_bad_input_names_the_field(http: TestClient, world: World) -> None:
    bad = http.post(f"{P}/status", headers=world.auth(ADMIN),
                    json={"state": "paused", "effective_from": "2026-03-02", "reason": "x"})
    assert bad.status_code == 422 and "state" in bad.text
    past = http.post(f"{P}/status", headers=world.auth(ADMIN),
                     json={"state": "eliminated", "effective_from": "2026-03-01", "reason": "x"})
    assert past.status_code == 422 and past.json()["field"] == "effective_from"


def test_eliminated_refuses_writes_with_409_and_keeps_reads(http: TestClient, world: World) -> None:
    w = world
    made = http.post(f"{P}/status", headers=w.auth(ADMIN),
                     json={"state": "eliminated", "effective_from": "2026-03-02", "reason": "FDA release"})
    assert made.status_code == 201 and made.json()["actor"] == f"admin:{ADMIN}"
    refused = http.post(f"/v1/pharmacy/authorizations/{w.number}/confirmations", headers=w.auth(w.pharm))
    assert refused.status_code == 409, refused.text
    assert [f["code"] for f in refused.json()["failures"]] == ["LIFECYCLE_PROGRAM_ELIMINATED"]
    assert not check(http, w)["allowed"]  # the check is a read: it answers, refused
    assert http.get(f"/v1/prescriber/patients/{w.male}", headers=w.auth(w.doc)).status_code == 200
    trail = http.get("/v1/admin/audit/program/pomalidomide", headers=w.auth(ADMIN)).json()
    assert [(e["trigger"], e["to_state"]) for e in trail] == [("set_status", "eliminated")]


def test_discretion_allows_a_check_and_lists_it(http: TestClient, world: World) -> None:
    w = world
    assert not check(http, w)["allowed"]
    http.post(f"{P}/status", headers=w.auth(ADMIN),
              json={"state": "enforcement_discretion", "effective_from": "2026-03-02", "reason": "FDA"})
    answer = check(http, w)
    assert answer["allowed"] and answer["would_refuse"] == ["R25_PHARMACY_SUSPENDED"]
    assert answer["waivers"] == [{"name": "enforcement_discretion", "codes": ["R25_PHARMACY_SUSPENDED"]}]
    [use] = http.get(f"{P}/waiver-uses", headers=w.auth(ADMIN)).json()
    assert (use["stage"], use["waiver"], use["codes"]) == ("check", "enforcement_discretion",
                                                          ["R25_PHARMACY_SUSPENDED"])


def test_a_relaxation_needs_a_second_administrator(http: TestClient, world: World) -> None:
    w = world
    undeclared = http.post(f"{P}/relaxations/anything/activate", headers=w.auth(ADMIN), json={"reason": "x"})
    assert undeclared.status_code == 409
    assert undeclared.json()["failures"][0]["code"] == "RELAXATION_NOT_DECLARED"
    act = http.post(f"{P}/relaxations/pharmacy_portal_down/activate", headers=w.auth(ADMIN),
                    json={"reason": "outage", "hours": 4}).json()
    assert act["ends_at"] == "2026-03-02T13:00:00Z"
    same = http.post(f"{P}/relaxations/activations/{act['id']}/approve", headers=w.auth(ADMIN))
    assert same.status_code == 409
    assert same.json()["failures"][0]["code"] == "RELAXATION_SAME_ADMINISTRATOR"
    assert not check(http, w)["allowed"]
    approved = http.post(f"{P}/relaxations/activations/{act['id']}/approve", headers=w.auth(SECOND_ADMIN))
    assert approved.status_code == 200 and approved.json()["approved_by"] == f"admin:{SECOND_ADMIN}"
    answer = check(http, w)
    assert answer["allowed"] and answer["waivers"][0]["name"] == "pharmacy_portal_down"
    [use] = http.get(f"{P}/waiver-uses?waiver=pharmacy_portal_down", headers=w.auth(ADMIN)).json()
    assert use["activation_id"] == act["id"]
    w.clock.advance(hours=4)  # type: ignore[attr-defined]
    assert not check(http, w)["allowed"]  # the time box is over
    listed = http.get(f"{P}/relaxations", headers=w.auth(ADMIN)).json()
    assert [a["id"] for a in listed] == [act["id"]]
