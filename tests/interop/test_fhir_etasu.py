"""GuidanceResponse/$rems-etasu on a seeded pomalidomide population (SQLite and PostgreSQL)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from rems.interop.codes import RXNORM
from tests.interop.conftest import Population
from tests.interop.fhir_helpers import (
    POMALYST_4MG_NDC,
    URL,
    call,
    case,
    case_number,
    checked,
    guidance,
    medication,
    patient,
    requirements,
    unmet,
)


def test_frp_with_qualifying_tests_is_success_by_case_number(client: TestClient, p: Population) -> None:
    status, body = call(client, p.auth(p.w.pharm), case(p.ready_number))
    assert status == 200
    assert guidance(body)["status"] == "success"
    assert case_number(body) == p.ready_number
    reqs = requirements(body)
    assert {"R9", "R25"} <= set(reqs)  # evaluated, met: named by rule, no failure code (18.7)
    assert set(reqs.values()) == {"success"}
    nested = [param["resource"] for c in guidance(body)["contained"] for param in c["parameter"]
              if "resource" in param]
    assert nested and not any("identifier" in n for n in nested)


def test_frp_without_pregnancy_test_is_data_required_naming_r9(client: TestClient, p: Population) -> None:
    status, body = call(client, p.auth(p.w.doc), patient(p.w.frp), medication())
    assert status == 200
    assert guidance(body)["status"] == "data-required"
    missing = unmet(body)
    assert any(code.startswith("R9_") for code in missing), missing
    assert "R19_NOT_AUTHORIZED" in missing  # no authorization yet for this patient
    nested = [param["resource"] for c in guidance(body)["contained"] for param in c["parameter"]]
    r9 = next(n for n in nested if n["status"] != "success" and n["identifier"][0]["value"].startswith("R9_"))
    assert r9["reasonCode"][0]["coding"][0]["code"] == "R9"
    assert r9["note"][0]["text"]  # what would satisfy it


def test_positive_pregnancy_test_is_data_required_naming_r30(client: TestClient, p: Population) -> None:
    p.positive_test(p.ready)
    status, body = call(client, p.auth(p.w.doc), case(p.ready_number))
    assert status == 200 and guidance(body)["status"] == "data-required"
    assert "R30_POSITIVE_TEST" in unmet(body) or "R30_PREGNANCY_REPORTED" in unmet(body)


def test_male_patient_by_ndc_is_success_without_pregnancy_tests(client: TestClient, p: Population) -> None:
    status, body = call(client, p.auth(p.w.doc), patient(p.w.male), medication(POMALYST_4MG_NDC, True))
    assert status == 200 and guidance(body)["status"] == "success", unmet(body)
    assert case_number(body) == p.w.number  # the open authorization is the case
    assert not {"R9", "R10", "R11"} & {key.split("_")[0] for key in requirements(body)}


def test_uncertified_pharmacy_is_data_required_naming_r25(client: TestClient, p: Population) -> None:
    status, body = call(client, p.auth(p.lapsed_pharm), case(p.ready_number, "case_number"))
    assert status == 200 and guidance(body)["status"] == "data-required"
    assert unmet(body) == {"R25_PHARMACY_NOT_CERTIFIED"}


def test_unknown_case_and_unknown_patient_are_failure(client: TestClient, p: Population) -> None:
    _, body = call(client, p.auth(p.w.pharm), case("POM-0000000000"))
    assert guidance(body)["status"] == "failure" and "unknown case" in guidance(body)["note"][0]["text"]
    _, body = call(client, p.auth(p.w.doc), patient("pat_nobody"), medication())
    assert guidance(body)["status"] == "failure"


def test_patient_is_matched_by_rems_id_never_by_name_and_birth_date(client: TestClient, p: Population) -> None:
    _, body = call(client, p.auth(p.w.doc), patient(None, name="Patient 5"), medication())
    assert guidance(body)["status"] == "failure"
    assert "REMS patient id" in guidance(body)["note"][0]["text"]


def test_medication_in_no_program_or_in_another_program_is_failure(client: TestClient, p: Population) -> None:
    _, body = call(client, p.auth(p.w.doc), patient(p.w.male), medication((RXNORM, "1191")))  # aspirin
    assert guidance(body)["status"] == "failure"
    _, body = call(client, p.auth(p.w.doc), patient(p.w.male), medication((RXNORM, "342369")))  # lenalidomide
    assert guidance(body)["status"] == "failure"
    assert "enrolled in pomalidomide" in guidance(body)["note"][0]["text"]


def test_other_prescribers_patient_and_case_look_unknown_and_are_audited(client: TestClient, p: Population) -> None:
    _, body = call(client, p.auth(p.w.other_doc), patient(p.w.male), medication())
    assert guidance(body)["status"] == "failure" and "contained" not in guidance(body)
    _, body = call(client, p.auth(p.w.other_doc), case(p.w.number))
    assert guidance(body)["status"] == "failure"
    assert p.w.refusals(p.w.other_doc) == ["AUTH_NOT_FOUND_OR_NOT_YOURS"] * 2


def test_pharmacy_sees_a_patient_only_with_an_open_authorization(client: TestClient, p: Population) -> None:
    _, body = call(client, p.auth(p.w.pharm), patient(p.w.frp), medication())  # enrolled, no authorization
    assert guidance(body)["status"] == "failure"
    _, body = call(client, p.auth(p.w.pharm), patient(p.ready), medication())
    assert guidance(body)["status"] == "success" and case_number(body) == p.ready_number
    assert p.w.refusals(p.w.pharm) == ["AUTH_NOT_FOUND_OR_NOT_YOURS"]


def test_tokens_roles_are_enforced_with_operation_outcomes(client: TestClient, p: Population) -> None:
    response = client.post(URL, json={"resourceType": "Parameters"})
    assert response.status_code == 401 and checked(response)["issue"][0]["code"] == "login"
    response = client.post(URL, headers=p.auth(p.w.male), json={"resourceType": "Parameters"})
    assert response.status_code == 403 and checked(response)["issue"][0]["code"] == "forbidden"
    assert p.w.refusals(p.w.male) == ["AUTH_ROLE_FORBIDDEN"]


def test_bad_parameters_get_operation_outcomes_naming_the_problem(client: TestClient, p: Population) -> None:
    headers = {**p.auth(p.w.doc), "Content-Type": "application/fhir+json"}
    cases = [
        (b"{not json", 400, "body"),
        (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, 400, "body"),  # nesting deeper than the parser allows
        (b'{"resourceType": "Patient"}', 400, "resourceType"),
        (b'{"resourceType": "Parameters", "parameter": [{"valueString": "x"}]}', 400, "name"),
        (b'{"resourceType": "Parameters", "parameter": [{"name": "x", "resource": {"resourceType": "Nope"}}]}',
         400, "Parameters"),
        (b'{"resourceType": "Parameters", "parameter": []}', 422, "patient"),
        (b'{"resourceType": "Parameters", "parameter": [{"name": "patient", "valueString": "pat_1"}]}', 422,
         "parameter[0]"),
        (b'{"resourceType": "Parameters", "parameter": [{"name": "patient", "resource": {"resourceType": '
         b'"Patient"}}, {"name": "medication", "resource": {"resourceType": "Medication"}}]}', 422, "parameter[1]"),
        (b'{"resourceType": "Parameters", "parameter": [{"name": "caseNumber", "valueString": "  "}]}', 422,
         "parameter[0]"),
    ]
    for raw, status, where in cases:
        response = client.post(URL, headers=headers, content=raw)
        assert response.status_code == status, (raw, response.text)
        issue = checked(response)["issue"][0]
        assert where in issue["diagnostics"], (raw, issue)
