"""SMART App Launch from cards (US Medication REMS IG STU2 "Launch SMART application" and "Deferred
SMART Application Launch"; CDS Hooks 2.0 Link, Suggestion, Action): a card whose remedy is a form
(R5 enrollment, R19 prescriber survey) carries an absolute link, a `smart` link to the same page with
the EHR's context in `appContext`, and a suggestion creating a Task that validates as a FHIR R4 Task
of the IG's medication-rems-task-smart-launch shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.task import Task
from pydantic import ValidationError

from rems.domain.requirements import need
from rems.interop import cds
from rems.interop.cds import Card, Link
from rems.interop.smart import Launch
from tests.interop.conftest import BASE, Population
from tests.interop.test_cds_hooks import cards, hook
from workflows.program import PROGRAM_DIR, load_programs

SMART = "http://hl7.org/fhir/smart-app-launch/CodeSystem/smart-codes"  # SMART App Launch 2.2
PROFILE = "http://hl7.org/fhir/us/medication-rems/StructureDefinition/medication-rems-task-smart-launch"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _inputs(task: dict[str, Any]) -> dict[str, Any]:
    return {i["type"]["coding"][0]["code"]: i.get("valueUrl", i.get("valueString")) for i in task["input"]}


def assert_deferred_task(card: dict[str, Any], page: str, ehr_patient: str) -> dict[str, Any]:
    """The IG's deferred launch: one suggestion, one `create` action of a Task (status requested,
    intent proposal, code launch-app-ehr, the app's URL and its appContext as inputs)."""
    assert card["selectionBehavior"] == "at-most-one"  # CDS Hooks 2.0: required with suggestions
    [suggestion] = card["suggestions"]
    [action] = suggestion["actions"]
    assert action["type"] == "create" and action["description"]
    task = action["resource"]
    Task.model_validate(task)  # a valid FHIR Task
    assert task["meta"]["profile"] == [PROFILE] and task["id"]  # the profile wants an id
    assert (task["status"], task["intent"]) == ("requested", "proposal")
    assert task["code"]["coding"][0] == {"system": SMART, "code": "launch-app-ehr",
                                         "display": "Launch application using the SMART EHR launch"}
    assert task["for"] == {"reference": f"Patient/{ehr_patient}"}  # the EHR's own patient
    assert task["authoredOn"] and task["requester"]["display"]
    inputs = _inputs(task)
    assert inputs["smartonfhir-application"] == page
    return json.loads(inputs["smartonfhir-appcontext"])  # type: ignore[no-any-return]


def test_the_enrollment_card_offers_a_smart_launch_with_the_ehr_context(linked: TestClient,
                                                                        p: Population) -> None:
    [card] = cards(linked, p, hook(None))
    page = f"{BASE}/web/prescriber/patients/new"
    absolute, launch = card["links"]
    assert absolute == {"label": "Enroll the patient (PPAF)", "url": page, "type": "absolute"}
    assert launch["type"] == "smart" and launch["url"] == page  # absolute too, on our public address
    context = json.loads(launch["appContext"])
    assert context == {"providerSystemPatientId": "ehr-1", "prescription": ["MedicationRequest/mr-1"],
                       "program": "pomalidomide", "rule": "R5"}
    assert assert_deferred_task(card, page, "ehr-1") == context
    task = card["suggestions"][0]["actions"][0]["resource"]
    assert task["reasonReference"] == {"reference": "MedicationRequest/mr-1"}  # the draft order


def test_cards_without_a_form_keep_only_their_absolute_link(linked: TestClient, p: Population) -> None:
    found = cards(linked, p, hook(p.w.frp))  # R9 tests and R20 patient survey: nothing to launch
    assert found and all(c["links"] == [{"label": "Open the patient's REMS record", "type": "absolute",
                                         "url": f"{BASE}/web/prescriber/patients/{p.w.frp}"}] for c in found)
    assert not any("suggestions" in c for c in found)


def test_a_prescriber_survey_card_launches_the_patients_page_with_patient_and_prescription() -> None:
    program = load_programs(PROGRAM_DIR)["pomalidomide"]
    unmet = [need(False, "R19", "R19_PRESCRIBER_SURVEY_MISSING", "the prescriber survey",
                  "the prescriber completes the survey"),
             need(False, "R11", "R11_TEST_OVERDUE", "a monthly test", "record a negative test")]
    launch = Launch("ehr-7", "pat_1", NOW, ("MedicationRequest/mr-9",))
    survey, test = cds.requirement_cards(unmet, program, BASE, "pat_1", launch)
    for card in (survey, test):
        Card.model_validate(card)
    page = f"{BASE}/web/prescriber/patients/pat_1"
    assert [link["type"] for link in survey["links"]] == ["absolute", "smart"]
    context = json.loads(survey["links"][1]["appContext"])
    assert context == {"providerSystemPatientId": "ehr-7", "remsPatientId": "pat_1", "prescription": ["MedicationRequest/mr-9"],
                       "program": "pomalidomide", "rule": "R19"}
    assert assert_deferred_task(survey, page, "ehr-7") == context
    assert [link["type"] for link in test["links"]] == ["absolute"] and "suggestions" not in test


def test_without_an_ehr_context_no_launch_is_offered() -> None:
    program = load_programs(PROGRAM_DIR)["pomalidomide"]
    [card] = cds.requirement_cards([need(False, "R19", "R19_PRESCRIBER_SURVEY_MISSING", "survey", "do it")],
                                   program, BASE, "pat_1")
    assert [link["type"] for link in card["links"]] == ["absolute"] and "suggestions" not in card


def test_link_and_card_shapes_are_enforced() -> None:
    with pytest.raises(ValidationError, match="only for a smart link"):
        Link(label="x", url=f"{BASE}/web", appContext="{}")
    with pytest.raises(ValidationError, match="absolute"):
        Link(label="x", url="/web", type="smart")
    suggestion = {"label": "later", "actions": [{"type": "create", "description": "d", "resource": {}}]}
    with pytest.raises(ValidationError, match="selectionBehavior"):
        Card.model_validate({"uuid": "u", "summary": "s", "indicator": "info", "source": {"label": "l"},
                             "suggestions": [suggestion]})
