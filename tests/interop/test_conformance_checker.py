"""The checker itself: bodies written here from the IG's examples' shapes (our own data) conform, and
each one-element change the IG or R4 forbids is reported under the constraint's id. Without this, a
checker that found nothing would pass every test of test_conformance_emitted.py."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.interop import conformance_check as cc

SMART = "http://hl7.org/fhir/smart-app-launch/CodeSystem/smart-codes"


def task() -> dict[str, Any]:
    return {"resourceType": "Task", "id": "t1", "status": "requested", "intent": "proposal",
            "code": {"coding": [{"system": SMART, "code": "launch-app-ehr"}]},
            "for": {"reference": "Patient/p1"}, "authoredOn": "2026-03-02T09:00:00Z",
            "requester": {"type": "Organization", "display": "A REMS"},
            "owner": {"reference": "Practitioner/9"}, "reasonReference": {"reference": "MedicationRequest/m1"},
            "input": [{"type": {"coding": [{"system": SMART, "code": "smartonfhir-application"}]},
                       "valueUrl": "https://rems.example.org/app"},
                      {"type": {"coding": [{"system": SMART, "code": "smartonfhir-appcontext"}]},
                       "valueString": "{}"}]}


def etasu() -> dict[str, Any]:
    nested = {"resourceType": "GuidanceResponse", "moduleUri": "http://x.example/", "status": "success",
              "note": [{"text": "Patient Enrollment"}]}
    return {"resourceType": "Parameters", "parameter": [{"name": "rems-etasu", "resource": {
        "resourceType": "GuidanceResponse", "moduleUri": "http://x.example/", "status": "data-required",
        "outputParameters": {"reference": "#out"},
        "contained": [{"resourceType": "Parameters", "id": "out", "parameter": [
            {"name": "Patient Enrollment", "resource": nested}, {"name": "case_number", "valueString": "A1"}]}]}}]}


def card() -> dict[str, Any]:
    return {"summary": "Patient must enroll", "indicator": "info", "source": {"label": "A REMS"},
            "links": [{"label": "Enroll", "url": "https://rems.example.org/enroll", "type": "absolute"}]}


def questionnaire() -> dict[str, Any]:
    return {"resourceType": "Questionnaire", "status": "active", "name": "Survey",
            "url": "https://rems.example.org/fhir/r4/Questionnaire/s",
            "item": [{"linkId": "a", "type": "boolean", "text": "?"}, {"linkId": "b", "type": "display", "text": "!"}]}


def communication() -> dict[str, Any]:
    return {"resourceType": "Communication", "status": "completed", "payload": [{"contentString": "R19"}]}


def outcome() -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "invalid"}]}


def capability() -> dict[str, Any]:
    op = "https://rems.example.org/fhir/r4/OperationDefinition/"
    return {"resourceType": "CapabilityStatement", "status": "active", "date": "2026-12-01", "kind": "instance",
            "fhirVersion": "4.0.1", "format": ["json"],
            "instantiates": ["http://hl7.org/fhir/us/medication-rems/CapabilityStatement/rems-administrator-system"],
            "implementation": {"description": "x"},
            "implementationGuide": ["http://hl7.org/fhir/smart-app-launch/ImplementationGuide/hl7.fhir.uv.smart-app-launch"],
            "rest": [{"mode": "server", "resource": [
                {"type": t, "operation": [{"name": n, "definition": op + n}]} for t, n in
                (("GuidanceResponse", "rems-etasu"), ("QuestionnaireResponse", "submit"),
                 ("Questionnaire", "questionnaire-package"))]}]}


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        node: Any = body
        for key in path[:-1]:
            node = node[key]
        if value is KeyError:
            del node[path[-1]]
        else:
            node[path[-1]] = value
    return change


GR = ["parameter", 0, "resource"]
CASES: list[tuple[str, Callable[[], dict[str, Any]], str | None, Callable[[dict[str, Any]], None], str]] = [
    ("intent", task, "rems-task-smart-launch", _set(["intent"], "order"), "TASK-2"),
    ("no authoredOn", task, "rems-task-smart-launch", _set(["authoredOn"], KeyError), "TASK-3"),
    ("requester", task, "rems-task-smart-launch", _set(["requester"], {"reference": "Practitioner/1"}), "TASK-4"),
    ("owner", task, "rems-task-smart-launch", _set(["owner"], {"reference": "Organization/1"}), "TASK-5"),
    ("reason", task, "rems-task-smart-launch", _set(["reasonReference"], {"reference": "Condition/1"}), "TASK-6"),
    ("code", task, "rems-task-smart-launch", _set(["code", "coding", 0, "code"], "launch-app-standalone"), "TASK-7"),
    ("no app url", task, "rems-task-smart-launch", _set(["input", 0], task()["input"][1]), "TASK-8"),
    ("app url type", task, "rems-task-smart-launch",
     _set(["input", 0], {**task()["input"][0], "valueString": "x", "valueUrl": None}), "TASK-9"),
    ("relative app", task, "rems-task-smart-launch", _set(["input", 0, "valueUrl"], "/app"), "TASK-13"),
    ("etasu name", etasu, "rems-etasu-output", _set(["parameter", 0, "name"], "etasu"), "ETASU-1"),
    ("etasu status", etasu, "rems-etasu-guidance", _set([*GR, "status"], "in-progress"), "ETASU-3"),
    ("local ref", etasu, "rems-etasu-guidance", _set([*GR, "outputParameters", "reference"], "#other"), "ETASU-4"),
    ("both values", etasu, "rems-etasu-guidance", _set([*GR, "contained", 0, "parameter", 1, "resource"],
                                      {"resourceType": "GuidanceResponse", "moduleUri": "u", "status": "success"}),
     "ETASU-7"),
    ("no module", etasu, None, _set([*GR, "moduleUri"], KeyError), "GR-1"),
    ("relative link", card, "cds-card", _set(["links", 0, "url"], "/web/enroll"), "CARD-2"),
    ("long summary", card, "cds-card", _set(["summary"], "x" * 141), "CARD-3"),
    ("smart only", card, "cds-link-card", _set(["links", 0, "type"], "smart"), "CARD-1"),
    ("appContext", card, "cds-card", _set(["links", 0, "appContext"], "{}"), "CARD-7"),
    ("suggestions", card, "cds-card", _set(["suggestions"], [{"label": "l", "actions": [
        {"type": "create", "description": "d", "resource": task()}]}]), "CARD-8"),
    ("linkIds", questionnaire, None, _set(["item", 1, "linkId"], "a"), "QUE-2"),
    ("display code", questionnaire, None, _set(["item", 1, "code"], [{"code": "k"}]), "QUE-3"),
    ("display required", questionnaire, None, _set(["item", 1, "required"], False), "QUE-6"),
    ("name", questionnaire, None, _set(["name"], "patient survey"), "QUE-0"),
    ("display nested", questionnaire, None, _set(["item", 1, "item"], [{"linkId": "c", "type": "string"}]), "QUE-1"),
    ("empty group", questionnaire, None, _set(["item", 1, "type"], "group"), "QUE-1b"),
    ("communication", communication, None, _set(["status"], "sent"), "COM-1"),
    ("severity", outcome, None, _set(["issue", 0, "severity"], "bad"), "OO-1"),
    ("no json", capability, "rems-capability", _set(["format"], ["xml"]), "CAP-2"),
    ("no etasu", capability, "rems-capability", _set(["rest", 0, "resource", 0, "operation", 0, "name"], "x"), "CAP-4"),
    ("no submit", capability, "rems-capability", _set(["rest", 0, "resource", 1, "type"], "Task"), "CAP-5"),
    ("no implementation", capability, None, _set(["implementation"], KeyError), "CAP-12"),
]


@pytest.mark.parametrize(("why", "make", "shape", "change", "cid"), CASES, ids=[c[0] for c in CASES])
def test_a_conforming_body_passes_and_one_change_is_named(
        why: str, make: Callable[[], dict[str, Any]], shape: str | None,
        change: Callable[[dict[str, Any]], None], cid: str) -> None:
    body = make()
    assert _checked(body, shape) == []
    broken = copy.deepcopy(body)
    change(broken)
    found = _checked(_drop_none(broken), shape)
    assert any(v.startswith(f"{cid}: ") for v in found), (why, found)


def _checked(body: dict[str, Any], shape: str | None) -> list[str]:
    if shape == "rems-etasu-guidance":  # the overall GuidanceResponse inside the output Parameters
        [body] = cc.select(body, "parameter[name=rems-etasu].resource")
    return cc.violations(body, shape)


def _drop_none(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _drop_none(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_drop_none(v) for v in node]
    return node


def test_every_constraint_is_well_formed_and_every_gap_says_why() -> None:
    found = cc.constraints()
    assert len({c["id"] for c in found}) == len(found)
    assert {c["level"] for c in found} <= {"SHALL", "MS", "SHOULD", "R4", "CDS"}
    assert all(gap.strip() for gap in cc.known_gaps().values())


def test_the_shape_rules_on_the_nested_etasu_guidance() -> None:
    """rems-etasu-guidance rules apply to the GuidanceResponse inside the output Parameters."""
    [guidance] = cc.select(etasu(), "parameter[name=rems-etasu].resource")
    assert cc.violations(guidance, "rems-etasu-guidance") == []
    guidance["contained"][0]["parameter"].append({"name": "case_number", "valueString": "A2"})
    assert any(v.startswith("ETASU-8: ") for v in cc.violations(guidance, "rems-etasu-guidance"))
    del guidance["contained"][0]["parameter"][0]["resource"]["note"]
    assert any(v.startswith("ETASU-9: ") for v in cc.violations(guidance, "rems-etasu-guidance"))
