"""The person over HTTP (R34, R35, T1): duplicates, stated facts, transfers, time zones."""

from __future__ import annotations

from fastapi.testclient import TestClient

from rems.domain.model import Patient
from tests.api.world import ADMIN, World

D, A = "/v1/prescriber", "/v1/admin"
FACTS = {"menarche": True, "hysterectomy": False, "bilateral_oophorectomy": False,
         "postmenopausal_since": None}
MAN = {"name": "John Doe", "sex": "male", "birth_date": "1970-01-01", "ppaf": {"category": "adult_male"}}


def test_a_renewal_omitting_menarche_is_422_and_unsetting_it_too_r35(client: TestClient, w: World) -> None:
    url = f"{D}/patients/{w.frp}/ppaf"
    omitted = client.post(url, headers=w.auth(w.doc), json={
        "facts": {k: v for k, v in FACTS.items() if k != "menarche"}, "ppaf": {"category": "adult_frp"}})
    assert omitted.status_code == 422 and omitted.json()["field"] == "facts.menarche"
    none = client.post(url, headers=w.auth(w.doc), json={"ppaf": {"category": "adult_frp"}})
    assert none.status_code == 422 and none.json()["field"] == "facts"
    assert client.post(url, headers=w.auth(w.doc), json={
        "facts": FACTS, "ppaf": {"category": "adult_frp"}}).status_code == 201
    unset = client.post(url, headers=w.auth(w.doc), json={
        "facts": {**FACTS, "menarche": False}, "ppaf": {"category": "adult_frp"}})
    assert unset.status_code == 422 and unset.json()["field"] == "facts.menarche"
    corrected = client.post(f"{A}/patients/{w.frp}/facts", headers=w.auth(ADMIN), json={
        "facts": {**FACTS, "menarche": False}, "reason": "typo at enrollment"})
    assert corrected.status_code == 200
    assert client.post(f"{A}/patients/{w.frp}/facts", headers=w.auth(w.doc), json={
        "facts": FACTS, "reason": "x"}).status_code == 403  # only the administrator corrects


def test_a_female_enrolled_without_facts_is_422_r35(client: TestClient, w: World) -> None:
    done = client.post(f"{D}/patients", headers=w.auth(w.doc), json={
        **MAN, "sex": "female", "ppaf": {"category": "adult_frp"}})
    assert done.status_code == 422 and done.json()["field"] == "facts"
    bad_zone = client.post(f"{D}/patients", headers=w.auth(w.doc), json={**MAN, "time_zone": "Moon/Base"})
    assert bad_zone.status_code == 422 and bad_zone.json()["field"] == "time_zone"


def test_the_same_man_enrolled_by_another_prescriber_is_409_saying_ask_for_a_transfer_r34(
        client: TestClient, w: World) -> None:
    first = client.post(f"{D}/patients", headers=w.auth(w.doc), json=MAN)
    assert first.status_code == 201
    again = client.post(f"{D}/patients", headers=w.auth(w.other_doc), json={**MAN, "name": "DOE, John"})
    assert again.status_code == 409
    problem = again.json()
    assert [f["code"] for f in problem["failures"]] == ["R34_ALREADY_ENROLLED"]
    assert "transfer" in problem["detail"]
    assert first.json()["id"] not in again.text and w.doc not in again.text
    assert w.count(Patient) == 4  # the world's three and the first one

    key = first.json()["id"]
    assert client.post(f"{A}/patients/{key}/transfer", headers=w.auth(w.other_doc),
                       json={"to_prescriber_id": w.other_doc}).status_code == 403
    moved = client.post(f"{A}/patients/{key}/transfer", headers=w.auth(ADMIN),
                        json={"to_prescriber_id": w.other_doc})
    assert moved.status_code == 200, moved.text
    assert moved.json()["patient"]["prescriber_id"] == w.other_doc
    assert client.get(f"{D}/patients/{key}", headers=w.auth(w.other_doc)).status_code == 200
    assert client.get(f"{D}/patients/{key}", headers=w.auth(w.doc)).status_code == 404
    trail = client.get(f"{A}/audit/patient/{key}", headers=w.auth(ADMIN)).json()
    assert trail[-1]["trigger"] == "transfer"


def test_the_prescriber_changes_the_time_zone_t1(client: TestClient, w: World) -> None:
    done = client.post(f"{D}/patients/{w.male}/time-zone", headers=w.auth(w.doc),
                       json={"time_zone": "Asia/Tokyo"})
    assert done.status_code == 200 and done.json() == {"id": w.male, "time_zone": "Asia/Tokyo"}
    trail = client.get(f"{A}/audit/patient/{w.male}", headers=w.auth(ADMIN)).json()
    assert trail[-1]["trigger"] == "change_time_zone"
