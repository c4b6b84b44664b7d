"""Lab results over HTTP on SQLite and PostgreSQL (issue 17 item 1): the prescriber records and
lists their patient's ALT/AST/ANC results; another prescriber, a pharmacy or nobody cannot; bad
input is a 422 naming the field and stores nothing; the gate's records carry the person's lab
results in the check's two statements (issue 14 item 2)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rems.asgi import create_app
from rems.bootstrap import App
from rems.domain.model import AuditEntry, LabResult, Patient
from rems.services.dispensing.records import load_check, load_records
from tests.api.conftest import Clock
from tests.api.test_check_hot_path import selects
from tests.api.world import World

D = "/v1/prescriber"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def w(app: App, clock: Clock) -> World:
    return World(app, clock).cast()


@pytest.fixture
def client(app: App, clock: Clock) -> Iterator[TestClient]:
    with TestClient(create_app(app, clock)) as test_client:
        yield test_client


def alt(w: World, **change: Any) -> dict[str, Any]:
    return {"analyte": "ALT", "value": 99.9, "unit": "U/L", "upper_limit_normal": "33.3",
            "collected_at": (w.clock() - timedelta(hours=3)).isoformat(), **change}


def test_the_prescriber_records_and_lists_results_exactly_as_reported(client: TestClient, w: World) -> None:
    url = f"{D}/patients/{w.male}/lab-results"
    done = client.post(url, headers=w.auth(w.doc), json=alt(w))
    assert done.status_code == 201, done.text
    body = done.json()
    assert {k: body[k] for k in ("patient_id", "analyte", "value", "unit", "upper_limit_normal", "setting")} == {
        "patient_id": w.male, "analyte": "ALT", "value": "99.9", "unit": "U/L", "upper_limit_normal": "33.3",
        "setting": "lab"}
    anc = client.post(url, headers=w.auth(w.doc), json={
        "analyte": "ANC", "value": "1500", "unit": "cells/uL", "lower_limit": 1500,
        "collected_at": (w.clock() - timedelta(days=2)).isoformat()})
    assert anc.status_code == 201, anc.text
    exponent = client.post(url, headers=w.auth(w.doc), json=alt(w, value="1.2e2", upper_limit_normal=40.0))
    assert (exponent.json()["value"], exponent.json()["upper_limit_normal"]) == ("120", "40.0")
    listed = client.get(url, headers=w.auth(w.doc))
    assert listed.status_code == 200
    assert [(r["analyte"], r["value"]) for r in listed.json()] == [("ANC", "1500"), ("ALT", "99.9"),
                                                                   ("ALT", "120")]
    with w.app.uow() as uow:
        stored = uow.lab_results(w.male)
        assert [str(r.value) for r in stored] == ["1500", "99.9", "120"]
        trail = [(e.trigger, e.to_state, e.refs) for e in uow.audit_trail("lab_result", body["id"])]
    assert trail == [("record", "recorded", {"patient": w.male})]


def test_only_the_patients_prescriber_records_or_lists_them(client: TestClient, w: World) -> None:
    url = f"{D}/patients/{w.male}/lab-results"
    assert client.post(url, headers=w.auth(w.other_doc), json=alt(w)).status_code == 404
    assert client.get(url, headers=w.auth(w.other_doc)).status_code == 404
    assert client.post(url, headers=w.auth(w.pharm), json=alt(w)).status_code == 403
    assert client.post(url, json=alt(w)).status_code == 401
    assert client.get(url).status_code == 401
    assert client.post(f"{D}/patients/pat_nobody/lab-results", headers=w.auth(w.doc), json=alt(w)).status_code == 404
    assert w.count(LabResult) == 0


@pytest.mark.parametrize(("change", "field"), [
    ({"analyte": "hCG"}, "analyte"),
    ({"analyte": "alt"}, "analyte"),
    ({"value": -1}, "value"),
    ({"value": "NaN"}, "value"),
    ({"value": "Infinity"}, "value"),
    ({"value": True}, "value"),
    ({"value": 1e12}, "value"),
    ({"value": 0.0000001}, "value"),
    ({"upper_limit_normal": 0}, "upper_limit_normal"),
    ({"upper_limit_normal": None}, "upper_limit_normal"),  # ALT is judged against its ULN
    ({"lower_limit": 40}, "lower_limit"),  # not below the ULN of 33.3
    ({"unit": ""}, "unit"),
    ({"unit": "U/L\x00"}, "unit"),
    ({"setting": "car"}, "setting"),
    ({"collected_at": "2026-03-01T09:00:00"}, "collected_at"),  # T1: no offset
    ({"collected_at": "2026-03-02T09:00:01Z"}, "collected_at"),  # after the test clock's now
    ({"collected_at": "1900-01-01T00:00:00Z"}, "collected_at"),  # before the birth date
    ({"flavour": "x"}, "flavour"),
])
def test_bad_input_is_422_naming_the_field_and_stores_nothing(client: TestClient, w: World,
                                                              change: dict[str, Any], field: str) -> None:
    refused = client.post(f"{D}/patients/{w.male}/lab-results", headers=w.auth(w.doc), json=alt(w, **change))
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == field
    assert w.count(LabResult) == 0 and w.count(AuditEntry, AuditEntry.entity == "lab_result") == 0


def test_the_gates_records_carry_the_persons_lab_results_in_two_statements(client: TestClient, w: World) -> None:
    url = f"{D}/patients/{w.male}/lab-results"
    for days, value in ((10, 30), (2, 121)):
        assert client.post(url, headers=w.auth(w.doc), json=alt(
            w, value=value, collected_at=(w.clock() - timedelta(days=days)).isoformat())).status_code == 201
    check = f"/v1/pharmacy/authorizations/{w.number}/check"
    assert client.get(check, headers=w.auth(w.pharm)).status_code == 200  # the token is now cached
    with selects(w) as seen:
        assert client.get(check, headers=w.auth(w.pharm)).status_code == 200
    assert len(seen) == 2, seen
    with w.app.uow(write=False) as uow:
        _rx, _pharmacy, records = load_check(uow, w.number, w.pharm)
        patient = uow.get(Patient, w.male)
        again = load_records(uow, patient)
    assert [(r.analyte, r.value) for r in records.lab_results] == [("ALT", Decimal(30)), ("ALT", Decimal(121))]
    assert [r.collected_at for r in again.lab_results] == [r.collected_at for r in records.lab_results]
    assert all(r.collected_at.tzinfo is not None for r in records.lab_results)
