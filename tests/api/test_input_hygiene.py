"""Issue 15 item 6, on SQLite and PostgreSQL: a NUL or another control character anywhere (path,
query, JSON, FHIR, CDS Hooks, NCPDP) is a 4xx naming the field and stores nothing; JSON types are
strict; huge numbers, deep nesting and large bodies are refused; the NCPDP namespace is required;
a wrong method is a 405; NPIs pass their check digit (docs/input.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from rems.asgi import create_app
from rems.bootstrap import App
from rems.domain.model import Patient, Prescriber, Prescription
from tests.api.conftest import Clock
from tests.api.world import ADMIN, World
from tests.interop import fhir_helpers
from tests.interop.ncpdp_helpers import find, message, send
from tests.interop.test_cds_hooks import hook

CONTROLS = ["\x00", "\r\n", "\t", "\x07", "\x1b[31m", "\x7f", "\x85", "\ud800"]
HUGE = "9" * 5000  # over CPython's 4,300-digit limit for int()


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


def _raw_json(value: Any) -> bytes:
    """JSON as a client may send it: a lone surrogate escaped (\\ud800), never encoded."""
    return json.dumps(value).encode()


def _field_of(response: Any) -> str:
    assert response.status_code == 422, (response.status_code, response.text[:300])
    assert response.headers["content-type"] == "application/problem+json"
    return str(response.json()["field"])


def _enrol(w: World, **change: Any) -> dict[str, Any]:
    return {"name": "New Patient", "sex": "male", "birth_date": "1980-05-01",
            "ppaf": {"category": "adult_male"}, **change}


def test_control_characters_in_json_text_are_a_422_naming_the_field_and_store_nothing(
        client: TestClient, w: World) -> None:
    headers = {**w.auth(w.doc), "Content-Type": "application/json"}
    patients = w.count(Patient)
    for bad in CONTROLS:
        for body, field in (
                (_enrol(w, name=f"Ann{bad}Lee"), "name"),
                (_enrol(w, identifiers=[{"system": "urn:mrn", "value": f"M{bad}1"}]), "identifiers.0.value"),
                (_enrol(w, time_zone=f"America/{bad}Chicago"), "time_zone"),
                (_enrol(w, ppaf={"category": "adult_male", "signed_by": "guardian",
                                 "guardian_name": f"G{bad}H"}), "ppaf.guardian_name")):
            response = client.post("/v1/prescriber/patients", headers=headers, content=_raw_json(body))
            assert _field_of(response) == field, bad
            detail = response.json()["detail"]  # pydantic refuses a lone surrogate itself
            assert "control characters" in detail or (bad == "\ud800" and "unicode" in detail), detail
    assert w.count(Patient) == patients
    pharmacy = {**w.auth(w.pharm), "Content-Type": "application/json"}
    dispense = {"confirmation_number": "C-1\x00", "counselled": True, "education_checklist_completed": True,
                "medication_guide_given": True}
    assert _field_of(client.post("/v1/pharmacy/dispenses", headers=pharmacy,
                                 content=_raw_json(dispense))) == "confirmation_number"
    readmit = {"reason": "moved\x1bback"}
    assert _field_of(client.post(f"/v1/admin/patients/{w.male}/readmission", headers={
        **w.auth(ADMIN), "Content-Type": "application/json"}, content=_raw_json(readmit))) == "reason"


def test_control_characters_in_the_path_or_query_are_a_422_naming_the_parameter(
        client: TestClient, w: World) -> None:
    for bad in CONTROLS[:-1]:  # a lone surrogate cannot be percent-encoded as UTF-8
        q = quote(bad, safe="")
        for actor, path, field in (
                (w.pharm, f"/v1/pharmacy/authorizations/{w.number}{q}/check", "number"),
                (w.pharm, f"/v1/pharmacy/confirmations/C-{q}/void", "number"),
                (w.doc, f"/v1/prescriber/patients/{q}", "patient_id"),
                (w.doc, f"/v1/prescriber/prescriptions/{w.rx}{q}/authorize", "prescription_id"),
                (ADMIN, f"/v1/admin/prescribers/{q}", "record_id"),
                (ADMIN, f"/v1/admin/audit/patient/{q}", "entity_id"),
                (ADMIN, f"/v1/admin/notifications?recipient={q}", "recipient"),
                (ADMIN, f"/v1/admin/reports/patients/{w.male}/history?x{q}=1", "x" + bad)):
            method = "POST" if path.endswith(("/void", "/authorize")) else "GET"
            response = client.request(method, path, headers=w.auth(actor))
            assert _field_of(response) == field, (path, bad)


def test_json_types_are_strict(client: TestClient, w: World) -> None:
    """JSON `true` is not a quantity, "28" not a count, "yes" not an attestation."""
    headers = w.auth(w.doc)
    rx = {"patient_id": w.male, "days_supply": 28, "quantity": 28}
    prescriptions = w.count(Prescription)
    for change, field in (({"quantity": True}, "quantity"), ({"days_supply": "28"}, "days_supply"),
                          ({"quantity": 28.0}, "quantity"), ({"refills": False}, "refills"),
                          ({"prescriber_survey_completed": "yes"}, "prescriber_survey_completed"),
                          ({"contraception_counselling_attested": 1}, "contraception_counselling_attested")):
        response = client.post("/v1/prescriber/prescriptions", headers=headers, json={**rx, **change})
        assert _field_of(response) == field
    assert w.count(Prescription) == prescriptions
    admin = w.auth(ADMIN)
    doc = {"name": "Dr Strict", "npi": "1234567893", "attested": "true", "education_reviewed": True}
    assert _field_of(client.post("/v1/admin/prescribers", headers=admin, json=doc)) == "attested"
    assert client.post("/v1/admin/prescribers", headers=admin, json={**doc, "attested": True}).status_code == 201


def test_an_npi_must_pass_its_check_digit_r1(client: TestClient, w: World) -> None:
    admin = w.auth(ADMIN)
    doc = {"name": "Dr Luhn", "attested": True, "education_reviewed": True}
    response = client.post("/v1/admin/prescribers", headers=admin, json={**doc, "npi": "1234567890"})
    assert _field_of(response) == "npi" and "check digit should be 3" in response.json()["detail"]
    assert w.count(Prescriber, Prescriber.npi == "1234567890") == 0
    assert client.post("/v1/admin/prescribers", headers=admin, json={**doc, "npi": "1234567893"}).status_code == 201
    pharmacy = {"name": "Ph", "representative_enrolled": True, "staff_trained": True,
                "records_and_audits_accepted": True}
    for bad in ("123456", "12345678", "12a4567"):
        assert _field_of(client.post("/v1/admin/pharmacies", headers=admin,
                                     json={**pharmacy, "ncpdp_id": bad})) == "ncpdp_id"


def test_huge_numbers_deep_nesting_and_odd_json_are_refused_never_a_500(client: TestClient, w: World) -> None:
    doc = {**w.auth(w.doc), "Content-Type": "application/json"}
    huge = f'{{"patient_id": "{w.male}", "days_supply": {HUGE}, "quantity": 28}}'.encode()
    for body in (huge, b"[" * 100_000, b'{"patient_id": NaN}', b"\xff\xfe", b'{"a": 1e999}'):
        response = client.post("/v1/prescriber/prescriptions", headers=doc, content=body)
        assert response.status_code == 422, response.text[:200]
    for body in (huge, b"[" * 100_000):  # a POST without a body schema still fingerprints the body
        response = client.post("/v1/admin/sweep", headers={**w.auth(ADMIN), "Content-Type": "application/json"},
                               content=body)
        assert response.status_code < 500, response.text[:200]


def test_fhir_refuses_huge_numbers_and_control_characters_with_an_operation_outcome(
        client: TestClient, w: World) -> None:
    headers = {**w.auth(w.pharm), "Content-Type": "application/fhir+json"}
    case = fhir_helpers.case(w.number)
    probes = {
        f'{{"resourceType": "Parameters", "id": {HUGE}}}'.encode(): (422, "id"),
        _raw_json({"resourceType": "Parameters", "parameter": [{**case, "valueString": "POM-1\x00"}]}):
            (422, "parameter[0].valueString"),
        _raw_json({"resourceType": "Parameters", "parameter": [{**case, "valueString": "POM\ud800"}]}):
            (422, "parameter[0].valueString"),
        b'{"resourceType": "Parameters", "parameter": [{"name": "caseNumber", "valueInteger": NaN}]}':
            (422, "parameter[0].valueInteger"),
        b"[" * 100_000: (400, "body"),
    }
    for body, (status, where) in probes.items():
        response = client.post(fhir_helpers.URL, headers=headers, content=body)
        assert response.status_code == status, response.text[:300]
        outcome = response.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert where in json.dumps(outcome), outcome


def test_cds_hooks_refuse_huge_numbers_and_control_characters_with_a_422_naming_the_path(
        client: TestClient, w: World) -> None:
    """Issue 15 item 6: a value refused on every interface (a control character, a number of more
    digits than any field takes) is a 422 naming its JSON path on CDS Hooks too; a body that is
    not JSON at all keeps CDS Hooks' Bad Request card. Never a 500."""
    good = hook(w.male)
    huge = json.dumps(good).replace('"value": 28', f'"value": {HUGE}').encode()
    nul = json.loads(json.dumps(good))
    nul["prefetch"]["patient"]["identifier"][0]["value"] = f"{w.male}\x00"
    for body, where in ((huge, "expectedSupplyDuration.value"), (_raw_json(nul), "identifier[0].value")):
        response = client.post("/cds-services/rems-order-sign", headers={**w.auth(w.doc),
                               "Content-Type": "application/json"}, content=body)
        assert response.status_code == 422, response.text[:300]
        assert where in response.json()["field"] and where in response.json()["detail"], response.json()
    response = client.post("/cds-services/rems-order-sign", headers={**w.auth(w.doc),
                           "Content-Type": "application/json"}, content=b"[" * 100_000)
    assert response.status_code == 200, response.text[:300]
    (card,) = response.json()["cards"]
    assert card["summary"] == "Bad Request" and "body" in card["detail"], card


def _ncpdp_error(root: Any) -> str:
    found = find(root, "Body/Error/Description")
    return (found.text or "") if found is not None else ""


def test_ncpdp_requires_its_namespace_and_refuses_control_characters_naming_the_element(
        client: TestClient, w: World) -> None:
    from tests.interop.conftest import Population

    p = Population.__new__(Population)
    p.w = w
    valid = message("REMSRequest", w.male, ncpdp_id=p.ncpdp_of(w.pharm))
    other = valid.replace(b"http://www.ncpdp.org/schema/SCRIPT", b"urn:not-script")
    none = valid.replace(b' xmlns="http://www.ncpdp.org/schema/SCRIPT"', b"")
    for body in (other, none):
        status, root = send(client, w.auth(w.pharm), body)
        assert status == 400 and "namespace" in _ncpdp_error(root), _ncpdp_error(root)
    patient = f"<REMSPatientID>{w.male}</REMSPatientID>".encode()
    for bad in (b"&#9;", b"&#x85;", b"\x7f", b"&#13;"):
        body = valid.replace(patient, patient.replace(b"</", bad + b"x</"))
        status, root = send(client, w.auth(w.pharm), body)
        assert status == 422 and "REMSPatientID must not contain control characters" in _ncpdp_error(root)
    status, root = send(client, w.auth(w.doc), message("REMSRequest", w.male, npi="1234567890"))
    assert status == 422 and "NPI '1234567890' is not a valid NPI" in _ncpdp_error(root)
    status, root = send(client, w.auth(w.pharm), message("REMSRequest", w.male, ncpdp_id="12345678"))
    assert status == 422 and "NCPDPID" in _ncpdp_error(root)
    assert send(client, w.auth(w.pharm), valid)[0] == 200


def test_a_body_over_the_limit_is_a_413_naming_the_body(client: TestClient, w: World, app: App) -> None:
    limit = app.settings.max_body_bytes
    headers = {**w.auth(w.doc), "Content-Type": "application/json"}
    big = _raw_json(_enrol(w, name="x" * limit))
    response = client.post("/v1/prescriber/patients", headers=headers, content=big)
    assert response.status_code == 413 and response.json()["field"] == "body", response.text[:300]

    def streamed() -> Iterator[bytes]:  # no Content-Length: counted while read
        yield big[: limit // 2]
        yield big[limit // 2:]
    response = client.post("/v1/prescriber/patients", headers=headers, content=streamed())
    assert response.status_code == 413
    assert client.post("/v1/prescriber/patients", headers=headers, json=_enrol(w)).status_code == 201


def test_a_wrong_method_is_a_405_on_every_api_path(client: TestClient, w: World) -> None:
    """Each operation's path, with its parameters filled, answers 405 to every method it lacks
    (POST on /v1/admin/audit/... was a 422 about an unknown kind)."""
    document = client.get("/openapi.json").json()
    values = {"entity": "patient", "kind": "cumulative", "trigger": "certify"}
    callers = {"pharmacy": w.pharm, "prescriber": w.doc, "patient": w.male, "admin": ADMIN}
    checked = 0
    for template, operations in document["paths"].items():
        path = template
        for name in [part[1:-1] for part in template.split("/") if part.startswith("{")]:
            path = path.replace(f"{{{name}}}", values.get(name, "x1"))
        for method in {"get", "post", "put", "delete", "patch"} - set(operations):
            response = client.request(method.upper(), path, headers=w.auth(callers[template.split("/")[2]]))
            assert response.status_code == 405, (method, path, response.text[:200])
            checked += 1
    assert checked > 100


def test_interop_and_dashboard_addresses_with_control_characters_are_never_a_500(
        client: TestClient, w: World) -> None:
    """Their paths reach no database (FHIR, NCPDP) or refuse the id (CDS Hooks: no such service)."""
    for bad in ("%00", "%0D%0A", "%1B"):
        for method, path, auth in (("POST", f"/cds-services/rems-order-sign{bad}", w.doc),
                                   ("POST", f"{fhir_helpers.URL}?x={bad}", w.pharm),
                                   ("POST", f"/ncpdp/script?x={bad}", w.pharm),
                                   ("GET", f"/web/static/{bad}.css", w.doc),
                                   ("GET", f"/web/prescriber/patients/{bad}", w.doc)):
            response = client.request(method, path, headers=w.auth(auth), content=b"{}")
            assert 400 <= response.status_code < 500, (path, response.status_code, response.text[:200])


def test_cds_hook_shapes_the_fuzz_found_are_bad_request_cards_not_500s(client: TestClient, w: World) -> None:
    """Found by test_fuzz_corpus.py: an identifier that is a number, a pharmacy Bundle whose entry
    is not a list, a supply of 1e308 weeks."""
    odd_identifier = hook(w.male)
    odd_identifier["prefetch"]["patient"]["identifier"] = 1
    odd_bundle = hook(w.male)
    odd_bundle["prefetch"]["pharmacy"] = {"resourceType": "Bundle", "entry": 7}
    weeks = hook(w.male)
    supply = weeks["context"]["draftOrders"]["entry"][0]["resource"]["dispenseRequest"]["expectedSupplyDuration"]
    supply |= {"value": 1e308, "unit": "weeks", "code": "wk"}
    for body in (odd_identifier, odd_bundle, weeks):
        response = client.post("/cds-services/rems-order-sign", headers=w.auth(w.doc), json=body)
        assert response.status_code == 200, response.text[:300]
        assert "cards" in response.json()
