"""Issue 16 item 6: every FHIR resource and CDS card we emit, fetched through the real API (SQLite and
PostgreSQL), validates with fhir.resources and meets the STU2 constraints we derived from the IG's
source (tests/interop/stu2_constraints.toml, checked by tests/interop/conformance_check.py).

The oracle is the constraint file, written from the IG (HL7/fhir-medication-rems-ig at ca2a84f),
SMART's task-ehr-launch profile and the R4 core invariants, not from our code.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from rems.bootstrap import App
from rems.services.reminders import sweeps
from tests.interop import conformance_check as cc
from tests.interop.conftest import BASE, Population
from tests.interop.fhir_helpers import URL, case, medication, patient
from tests.interop.loop_receiver import Receiver, receiver  # noqa: F401 (the fixture test_loop's looping needs)
from tests.interop.test_cds_hooks import hook
from tests.interop.test_fhir_questionnaires import RIGHT, SUBMIT, SURVEY
from tests.interop.test_fhir_questionnaires import response as questionnaire_response
from tests.interop.test_loop import Looping, expired_confirmation, looping, queued, scenario  # noqa: F401

FHIR_JSON = "application/fhir+json"


def fhir_body(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    body: dict[str, Any] = response.json()
    return body


def conforms(body: dict[str, Any], shape: str | None = None) -> None:
    found = cc.violations(body, shape)
    assert found == [], "\n".join(found)


# -- discovery ------------------------------------------------------------------------------------
def test_the_capability_statement_conforms(linked: TestClient) -> None:
    statement = fhir_body(linked.get("/fhir/r4/metadata"))
    conforms(statement, "rems-capability")
    for url in cc.select(statement, "rest.resource.operation.definition"):
        assert urlsplit(url).netloc == urlsplit(BASE).netloc  # on our public address, and served:
        conforms(fhir_body(linked.get(urlsplit(url).path)))  # OperationDefinition R4 rules (OPD-*)


# -- $rems-etasu ----------------------------------------------------------------------------------
def etasu(client: TestClient, p: Population, *parameters: dict[str, Any], actor: str | None = None) -> dict[str, Any]:
    body = fhir_body(client.post(URL, headers=p.auth(actor or p.w.doc),
                                 json={"resourceType": "Parameters", "parameter": list(parameters)}))
    conforms(body, "rems-etasu-output")
    [guidance] = cc.select(body, "parameter[name=rems-etasu].resource")
    conforms(guidance, "rems-etasu-guidance")
    return guidance  # type: ignore[no-any-return]


def test_every_etasu_outcome_has_the_igs_output_shape(client: TestClient, p: Population) -> None:
    ready = etasu(client, p, patient(p.ready), medication())
    assert ready["status"] == "success"  # R9, R20, R22 met: every requirement of the FRP satisfied
    assert cc.select(ready, "contained.parameter[name=case_number].valueString") == [p.ready_number]
    needed = etasu(client, p, patient(p.w.frp), medication())
    assert needed["status"] == "data-required"  # R9: no pregnancy test yet
    assert "data-required" in cc.select(needed, "contained.parameter.resource.status")
    unknown = etasu(client, p, patient("pat_nobody"), medication())
    assert unknown["status"] == "failure"  # not found, in the IG's table
    by_case = etasu(client, p, case(p.ready_number, "case_number"), actor=p.w.pharm)  # the IG's own name
    assert by_case["status"] == "success"


# -- forms ----------------------------------------------------------------------------------------
def test_every_questionnaire_package_conforms(client: TestClient, p: Population) -> None:
    ids = [spec.id for program in p.w.app.programs.values() for spec in program.questionnaires]
    assert len(ids) >= 4
    for qid in ids:
        bundle = fhir_body(client.get(f"/fhir/r4/Questionnaire/{qid}/$questionnaire-package", headers=p.auth(p.w.doc)))
        conforms(bundle, "questionnaire-package")
        assert cc.package_resolves(bundle) == []
        first = bundle["entry"][0]["resource"]
        assert (first["resourceType"], first["id"]) == ("Questionnaire", qid)


def test_submit_answers_with_conforming_operation_outcomes(client: TestClient, p: Population) -> None:
    frp = p.w.patient(p.w.doc, "adult_frp")
    recorded = fhir_body(client.post(SUBMIT, headers=p.auth(frp), json=questionnaire_response(SURVEY, RIGHT)))
    conforms(recorded)
    assert recorded["issue"][0]["severity"] == "information"
    refused = fhir_body(client.post(SUBMIT, headers=p.auth(frp), json={"resourceType": "QuestionnaireResponse",
                                                                      "status": "in-progress"}), 422)
    conforms(refused)
    assert refused["issue"][0]["expression"] == ["QuestionnaireResponse.status"]


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/fhir/r4/Patient/1", 404), ("POST", URL, 401), ("GET", "/fhir/r4/OperationDefinition/bad!", 422),
    ("DELETE", "/fhir/r4/metadata", 405)])
def test_fhir_errors_are_conforming_operation_outcomes(client: TestClient, method: str, path: str,
                                                       status: int) -> None:
    conforms(fhir_body(client.request(method, path), status))


# -- CDS Hooks ------------------------------------------------------------------------------------
def cards_of(client: TestClient, p: Population, body: dict[str, Any], service: str = "rems-order-sign"
             ) -> list[dict[str, Any]]:
    response = client.post(f"/cds-services/{service}", headers=p.auth(p.w.doc), json=body)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["cards"]
    for card in found:
        conforms(card, "cds-card")
        if card.get("links"):
            conforms(card, "cds-link-card")
        for task in cc.select(card, "suggestions.actions.resource"):
            conforms(task, "rems-task-smart-launch")
    return found


def test_every_card_and_deferred_task_conforms(linked: TestClient, p: Population) -> None:
    enroll = cards_of(linked, p, hook(None))  # R5: the PPAF, with a smart link and the deferred Task
    [task] = cc.select(enroll, "suggestions.actions.resource")
    assert task["owner"] == {"reference": "Practitioner/1"}  # context.userId: the work queue it goes to
    assert task["reasonReference"] == {"reference": "MedicationRequest/mr-1"}  # the draft order (TASK-6)
    assert json.loads(cc.select(task, "input[type.coding.code=smartonfhir-appcontext].valueString")[0])
    found = enroll + cards_of(linked, p, hook(p.w.frp)) + cards_of(linked, p, hook(p.w.frp, pharmacy="1599999")) \
        + cards_of(linked, p, hook("pat_unknown", "patient-view"), "rems-patient-view") \
        + cards_of(linked, p, {"hook": "order-sign"})  # a Bad Request card
    assert {c["summary"] for c in found} >= {"Bad Request", "REMS patient id not found for this prescriber"}


def test_discovery_conforms(client: TestClient, p: Population) -> None:
    response = client.get("/cds-services", headers=p.auth(p.w.doc))
    assert response.status_code == 200
    conforms(response.json(), "cds-discovery")


# -- closing the loop -----------------------------------------------------------------------------
def test_the_communications_we_send_conform(app: App, looping: Looping) -> None:  # noqa: F811
    refused = scenario(app, looping).enrolled("adult_frp")
    assert not refused.request().decision.allowed  # R9: a denial goes back to the EHR
    s = scenario(app, looping)
    expired_confirmation(s)
    assert s.call(sweeps.expire_due)["confirmations_expired"] == 1  # R27: not dispensed
    bodies = [json.loads(row["body"]) for a in (refused.app, s.app) for row in queued(a).values()
              if row["media_type"] == FHIR_JSON]
    assert {b["resourceType"] for b in bodies} == {"Communication"} and len(bodies) >= 2
    for body in bodies:
        conforms(body)


# Constraints nothing in this sample gives anything to judge: the program files hold no display and
# no group items today (QUE-1, QUE-1b, QUE-3, QUE-6: test_conformance_checker.py exercises them);
# Communications and OperationOutcomes (COM-1, OO-1) are checked by their own tests above.
NEVER_EXERCISED = {"QUE-1", "QUE-1b", "QUE-3", "QUE-6", "COM-1", "OO-1"}


def test_every_constraint_has_something_to_judge(linked: TestClient, p: Population) -> None:
    """Each rule selects something in at least one body we emit (else it passes vacuously)."""
    bodies: dict[str, list[dict[str, Any]]] = {}

    def add(shape: str, *found: dict[str, Any]) -> None:
        bodies.setdefault(shape, []).extend(found)
    statement = fhir_body(linked.get("/fhir/r4/metadata"))
    add("rems-capability", statement)
    add("CapabilityStatement", statement)
    add("OperationDefinition", *(fhir_body(linked.get(urlsplit(u).path))
                                 for u in cc.select(statement, "rest.resource.operation.definition")))
    for parameters in ([patient(p.ready), medication()], [patient(p.w.frp), medication()]):
        out = fhir_body(linked.post(URL, headers=p.auth(p.w.doc),
                                    json={"resourceType": "Parameters", "parameter": parameters}))
        add("rems-etasu-output", out)
        add("Parameters", out)
        add("rems-etasu-guidance", *cc.select(out, "parameter.resource"))
        add("GuidanceResponse", *cc.select(out, "parameter.resource"))
    for program in p.w.app.programs.values():
        for spec in program.questionnaires:
            bundle = fhir_body(linked.get(f"/fhir/r4/Questionnaire/{spec.id}/$questionnaire-package",
                                          headers=p.auth(p.w.doc)))
            add("questionnaire-package", bundle)
            for kind in ("Bundle", "Questionnaire", "ValueSet"):
                add(kind, bundle)
    found = cards_of(linked, p, hook(None)) + cards_of(linked, p, hook(p.w.frp))
    add("cds-card", *found)
    add("cds-link-card", *(c for c in found if c.get("links")))
    tasks = cc.select(found, "suggestions.actions.resource")
    add("rems-task-smart-launch", *tasks)
    add("Task", *tasks)
    add("cds-discovery", linked.get("/cds-services", headers=p.auth(p.w.doc)).json())
    idle = {c["id"] for c in cc.constraints() if "gap" not in c
            and not any(cc.exercised(c, b) for b in bodies.get(c["applies"], []))}
    assert idle == NEVER_EXERCISED
