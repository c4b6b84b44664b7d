"""CDS Hooks: discovery, cards for exactly the unmet requirements, the pharmacy card, Bad Request cards."""

from __future__ import annotations

import copy
from typing import Any

from fastapi.testclient import TestClient

from rems.interop.cds import Card
from rems.interop.codes import NCPDP_PROVIDER, NDC, REMS_PATIENT, RXNORM
from tests.interop.conftest import Population


def order(code: tuple[str, str] = (RXNORM, "1369713"), days: int = 28, subject: str = "Patient/ehr-1",
          refills: int = 0, oid: str = "mr-1") -> dict[str, Any]:
    return {"resource": {
        "resourceType": "MedicationRequest", "id": oid, "status": "draft", "intent": "order",
        "subject": {"reference": subject},
        "medicationCodeableConcept": {"coding": [{"system": code[0], "code": code[1]}]},
        "dispenseRequest": {"numberOfRepeatsAllowed": refills,
                            "expectedSupplyDuration": {"value": days, "unit": "days",
                                                       "system": "http://unitsofmeasure.org", "code": "d"}}}}


def hook(rems_id: str | None, hook_name: str = "order-sign", orders: list[dict[str, Any]] | None = None,
         pharmacy: str | None = None) -> dict[str, Any]:
    patient: dict[str, Any] = {"resourceType": "Patient", "id": "ehr-1"}
    if rems_id:
        patient["identifier"] = [{"system": REMS_PATIENT, "value": rems_id}]
    body: dict[str, Any] = {"hook": hook_name, "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
                            "context": {"userId": "Practitioner/1", "patientId": "ehr-1"},
                            "prefetch": {"patient": patient}}
    if hook_name != "patient-view":
        body["context"]["draftOrders"] = {"resourceType": "Bundle", "type": "collection",
                                          "entry": orders if orders is not None else [order()]}
    if hook_name == "order-select":
        body["context"]["selections"] = ["MedicationRequest/mr-1"]
    if pharmacy:
        body["prefetch"]["pharmacy"] = {"resourceType": "Organization", "id": "org-1",
                                        "identifier": [{"system": NCPDP_PROVIDER, "value": pharmacy}]}
    return body


def cards(client: TestClient, p: Population, body: Any, service: str = "rems-order-sign",
          actor: str | None = None) -> list[dict[str, Any]]:
    response = client.post(f"/cds-services/{service}", headers=p.auth(actor or p.w.doc), json=body)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["cards"]
    for card in found:
        Card.model_validate(card)  # summary <= 140 chars, indicator, source.label
    return found


def topics(found: list[dict[str, Any]]) -> list[str]:
    return [c["source"].get("topic", {}).get("code", "") for c in found]


def test_discovery_lists_the_three_services_with_prefetch(client: TestClient, p: Population) -> None:
    response = client.get("/cds-services", headers=p.auth(p.w.doc))
    services = {s["id"]: s for s in response.json()["services"]}
    assert {s["hook"] for s in services.values()} == {"order-sign", "order-select", "patient-view"}
    assert all("patient" in s["prefetch"] for s in services.values())


def test_all_requirements_met_gives_no_card(client: TestClient, p: Population) -> None:
    assert cards(client, p, hook(p.ready)) == []
    assert cards(client, p, hook(p.w.male, "order-select"), "rems-order-select") == []
    assert cards(client, p, hook(p.ready, "patient-view"), "rems-patient-view") == []


def test_frp_without_tests_gets_one_card_per_unmet_requirement(client: TestClient, p: Population) -> None:
    found = cards(client, p, hook(p.w.frp))
    assert found and all(c["indicator"] == "warning" for c in found)
    assert codes(found) == ["R9_EARLY_TEST_MISSING", "R9_RECENT_TEST_MISSING", "R20_PATIENT_SURVEY_DUE"]
    assert all(c["source"]["label"] == "PS-Pomalidomide REMS" for c in found)
    assert topics(found) == ["R9", "R9", "R20"]


def codes(found: list[dict[str, Any]]) -> list[str]:
    return [c["detail"].split("`")[1] for c in found]


def test_positive_test_gets_a_critical_card(client: TestClient, p: Population) -> None:
    p.positive_test(p.ready)
    found = cards(client, p, hook(p.ready, "patient-view"), "rems-patient-view")
    assert "R30_POSITIVE_TEST" in codes(found)
    assert {c["indicator"] for c in found if c["source"]["topic"]["code"] == "R30"} == {"critical"}


def test_order_over_28_days_or_with_refills_names_r24(client: TestClient, p: Population) -> None:
    found = cards(client, p, hook(p.w.male, orders=[order(days=5, refills=2)]))
    assert codes(found) == ["R24_REFILLS_NOT_ALLOWED"]
    found = cards(client, p, hook(p.w.male, orders=[order(days=30)]))
    assert codes(found) == ["R24_SUPPLY_TOO_LONG"]


def test_pharmacy_in_prefetch_gets_a_certification_card(client: TestClient, p: Population) -> None:
    certified = cards(client, p, hook(p.w.male, pharmacy="1599999"))
    assert [(c["indicator"], c["source"]["topic"]["code"]) for c in certified] == [("warning", "R25")]
    assert "not certified" in certified[0]["summary"]
    with p.w.app.uow() as uow:
        from rems.domain.model import Pharmacy
        ncpdp = uow.get(Pharmacy, p.w.pharm).ncpdp_id
    found = cards(client, p, hook(p.w.male, pharmacy=ncpdp))
    assert [c["indicator"] for c in found] == ["info"] and "is certified" in found[0]["summary"]


def test_patient_without_rems_id_gets_an_enrollment_card(client: TestClient, p: Population) -> None:
    found = cards(client, p, hook(None))
    assert topics(found) == ["R5"] and "enrolled" in found[0]["summary"]
    assert cards(client, p, hook(None, "patient-view"), "rems-patient-view") == []  # not a REMS patient


def test_other_prescribers_patient_is_not_shown_and_is_audited(client: TestClient, p: Population) -> None:
    found = cards(client, p, hook(p.w.male), actor=p.w.other_doc)
    assert topics(found) == ["R5"] and "R30" not in str(found)
    found = cards(client, p, hook(p.w.male, "patient-view"), "rems-patient-view", actor=p.w.other_doc)
    assert [c["summary"] for c in found] == ["REMS patient id not found for this prescriber"]
    assert p.w.refusals(p.w.other_doc) == ["AUTH_NOT_FOUND_OR_NOT_YOURS"] * 2


def test_malformed_hook_input_gets_a_bad_request_card(client: TestClient, p: Population) -> None:
    not_mr = {"resource": {"resourceType": "ServiceRequest", "id": "mr-1"}}
    no_code = order()
    del no_code["resource"]["medicationCodeableConcept"]
    mismatch = hook(p.w.male)
    mismatch["prefetch"]["patient"]["id"] = "ehr-2"
    wrong_hook = hook(p.w.male)
    wrong_hook["hook"] = "patient-view"
    unselected = hook(p.w.male, "order-select")
    unselected["context"]["selections"] = ["MedicationRequest/other"]
    malformed = {
        "no draft order": hook(p.w.male, orders=[]),
        "not a MedicationRequest": hook(p.w.male, orders=[not_mr]),
        "has no code": hook(p.w.male, orders=[no_code]),
        "unsupported medication code": hook(p.w.male, orders=[order((NDC, "00000-0000-00"))]),
        "does not match context.patientId": mismatch,
        "subject does not match": hook(p.w.male, orders=[order(subject="Patient/ehr-9")]),
        "this service handles": wrong_hook,
        "prefetch.patient is required": {k: v for k, v in hook(p.w.male).items() if k != "prefetch"},
    }
    for reason, body in malformed.items():
        found = cards(client, p, copy.deepcopy(body))
        assert [(c["summary"], c["indicator"]) for c in found] == [("Bad Request", "warning")], reason
        assert reason in found[0]["detail"], (reason, found[0]["detail"])
    found = cards(client, p, unselected, "rems-order-select")
    assert found[0]["summary"] == "Bad Request" and "selections" in found[0]["detail"]
    for raw in (b"{oops", b"[" * 100_000, b"[]"):
        response = client.post("/cds-services/rems-order-sign", headers=p.auth(p.w.doc), content=raw)
        assert response.status_code == 200 and response.json()["cards"][0]["summary"] == "Bad Request"


def test_cds_services_need_a_prescriber_token(client: TestClient, p: Population) -> None:
    assert client.get("/cds-services").status_code == 401
    assert client.post("/cds-services/rems-order-sign", json=hook(p.w.male)).status_code == 401
    response = client.post("/cds-services/rems-order-sign", headers=p.auth(p.w.pharm), json=hook(p.w.male))
    assert response.status_code == 403
    assert p.w.refusals(p.w.pharm) == ["AUTH_ROLE_FORBIDDEN"]
    assert client.post("/cds-services/nope", headers=p.auth(p.w.doc), json={}).status_code == 404


def test_the_pharmacy_card_reads_the_certification_of_the_patients_program_r25(
        client: TestClient, p: Population) -> None:
    """R25 per program: a pharmacy certified in pomalidomide only is not certified for a
    lenalidomide patient, until it is certified in lenalidomide."""
    from datetime import timedelta

    from rems.services.commands import EnrollPatient, parse
    from rems.services.enrollment import certification, patients
    p.w.call(certification.change_certification, "prescriber", p.w.doc, "certify", "lenalidomide")
    patient = p.w.call(patients.enroll_patient, parse(
        EnrollPatient, program_id="lenalidomide", prescriber_id=p.w.doc, name="Len Patient", sex="male",
        birth_date=(p.w.clock() - timedelta(days=50 * 365)).date(), ppaf={"category": "adult_male"})).id
    ncpdp = p.ncpdp_of(p.w.pharm)
    view = hook(patient, "patient-view", pharmacy=ncpdp)
    before = [c for c in cards(client, p, view, "rems-patient-view") if c["source"]["topic"]["code"] == "R25"]
    assert [c["indicator"] for c in before] == ["warning"] and "not certified" in before[0]["summary"]
    assert "lenalidomide" in before[0]["detail"]
    p.w.call(certification.change_certification, "pharmacy", p.w.pharm, "certify", "lenalidomide")
    after = [c for c in cards(client, p, view, "rems-patient-view") if c["source"]["topic"]["code"] == "R25"]
    assert [c["indicator"] for c in after] == ["info"]
