"""SMART App Launch from a CDS card (US Medication REMS IG STU2, CDS Hooks 2.0; R5, R6, R8, R15, R19).

A card whose remedy is a form on our dashboard carries, besides its absolute link, a `smart` link
to the same page with an `appContext` naming the EHR's patient and order, and a suggestion that
creates a `Task` (the IG's medication-rems-task-smart-launch profile of SMART's task-ehr-launch)
so the prescriber can put the form in a work queue when it cannot be completed now.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fhir.resources.R4B.task import Task

SMART_CODES = "http://hl7.org/fhir/smart-app-launch/CodeSystem/smart-codes"
TASK_PROFILE = "http://hl7.org/fhir/us/medication-rems/StructureDefinition/medication-rems-task-smart-launch"
# Requirements a prescriber meets by filling a form on our dashboard (a lab test or the pharmacy's
# certification is not something a launch can complete): enrollment and PPAF (R5, R6, R8), the
# contraception counselling attestation (R15), the prescriber survey (R19).
FORM_RULES = frozenset({"R5", "R6", "R8", "R15", "R19"})


@dataclass(frozen=True)
class Launch:
    """The EHR's context of a hook: who the patient is there and which orders are drafted."""

    ehr_patient: str  # context.patientId (the EHR's own Patient id)
    rems_patient: str | None  # our REMS patient id, when the chart carries it
    now: datetime  # the Task's authoredOn
    orders: tuple[str, ...] = ()  # "MedicationRequest/<id>" of the draft orders, in the EHR
    practitioner: str | None = None  # "Practitioner/<id>" of the EHR's user (context.userId)

    def app_context(self, program_id: str, rule: str) -> str:
        """CDS Hooks `Link.appContext` (a string the EHR hands back to the app at launch): the EHR's
        patient under the IG example's key, ours, the draft orders, and what the launch is for."""
        context: dict[str, Any] = {"providerSystemPatientId": self.ehr_patient, "program": program_id, "rule": rule}
        if self.rems_patient:
            context["remsPatientId"] = self.rems_patient
        if self.orders:
            context["prescription"] = list(self.orders)
        return json.dumps(context, separators=(",", ":"), sort_keys=True)


def _coding(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": SMART_CODES, "code": code, "display": display}]}


def task(launch: Launch, url: str, app_context: str, description: str, requester: str) -> dict[str, Any]:
    """A deferred-launch Task, validated as an R4 Task (fhir.resources); references are the EHR's."""
    resource: dict[str, Any] = {
        "resourceType": "Task", "id": uuid.uuid4().hex, "meta": {"profile": [TASK_PROFILE]},
        "status": "requested", "intent": "proposal",
        "code": _coding("launch-app-ehr", "Launch application using the SMART EHR launch"),
        "description": description, "for": {"reference": f"Patient/{launch.ehr_patient}"},
        "authoredOn": launch.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "requester": {"type": "Organization", "display": requester},
        "input": [{"type": _coding("smartonfhir-application", "SMART on FHIR application URL."),
                   "valueUrl": url},
                  {"type": _coding("smartonfhir-appcontext", "Application context related to this launch."),
                   "valueString": app_context}]}
    if launch.practitioner:  # the IG's profile: owner (must support) is the provider whose work queue gets it
        resource["owner"] = {"reference": launch.practitioner}
    if launch.orders:  # the IG's profile: SHALL be populated when the task relates to a prescription
        resource["reasonReference"] = {"reference": launch.orders[0]}
    return Task.model_validate(resource).model_dump(mode="json", exclude_none=True)


def deferred(launch: Launch, url: str, app_context: str, what: str, program_name: str) -> dict[str, Any]:
    """The CDS suggestion that creates the Task (the card then needs `selectionBehavior`)."""
    return {"label": f"Do it later: put '{what}' in your work queue",
            "uuid": str(uuid.uuid4()),
            "actions": [{"type": "create", "description": f"Add a deferred SMART launch for the {program_name}",
                         "resource": task(launch, url, app_context, f"{program_name}: {what}", program_name)}]}

