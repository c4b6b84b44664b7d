"""What our FHIR endpoint says about itself (issue 16 item 2): the CapabilityStatement at
/fhir/r4/metadata and our own OperationDefinitions (the US Medication REMS IG publishes none).

Only what is served is declared in the CapabilityStatement: `$rems-etasu`, `$questionnaire-package`
and `$submit` (the forms, issue 16 item 3), and reading our OperationDefinitions. Every resource
is validated by the R4B models first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationdefinition import OperationDefinition

FHIR_VERSION = "4.0.1"
IG = "http://hl7.org/fhir/us/medication-rems/ImplementationGuide/hl7.fhir.us.medication-rems|2.0.0"
SERVED = {"rems-etasu": "GuidanceResponse", "questionnaire-package": "Questionnaire",
          "submit": "QuestionnaireResponse"}  # operation -> its resource, in the CapabilityStatement
# The IG's requirements CapabilityStatement for our role (input/fsh/...-rems-administrator-system.fsh).
# SMART App Launch (2.2.0 in the IG), which the IG's CapabilityStatement for our role names with expectation SHALL:
# our dashboard is the SMART app an EHR launches (rems/web/smart_launch.py; docs/sign-in.md).
SMART_IG = "http://hl7.org/fhir/smart-app-launch/ImplementationGuide/hl7.fhir.uv.smart-app-launch"  # unversioned, as the IG names it
IG_ADMINISTRATOR = "http://hl7.org/fhir/us/medication-rems/CapabilityStatement/rems-administrator-system"
RELEASED = "2026-12-01"  # the date of these definitions (not the clock: they change with the code)


def _param(name: str, use: str, low: int, high: str, kind: str | None, doc: str) -> dict[str, Any]:
    p: dict[str, Any] = {"name": name, "use": use, "min": low, "max": high, "documentation": doc}
    if kind:
        p["type"] = kind
    return p


_DEFINITIONS: dict[str, dict[str, Any]] = {
    "rems-etasu": {
        "name": "RemsEtasu", "title": "ETASU status of a REMS case or patient", "status": "active",
        "code": "rems-etasu", "resource": ["GuidanceResponse"], "system": False, "type": True,
        "instance": False, "affectsState": False,
        "description": "The status of every Elements To Assure Safe Use requirement (rule id, code, "
                       "remedy) of a patient for a medication, or of a case by its number.",
        "parameter": [
            _param("patient", "in", 0, "1", "Patient", "The patient, identified by our REMS patient id "
                   "(Identifier system urn:rems-engine:patient-id); an Identifier also works"),
            _param("medication", "in", 0, "1", "Resource", "A Medication or MedicationRequest coded by "
                   "RxNorm or NDC (required with patient)"),
            _param("caseNumber", "in", 0, "1", "string", "Our case (authorization) number, instead of "
                   "patient and medication; `case_number` is accepted too"),
            _param("rems-etasu", "out", 1, "1", "GuidanceResponse", "status success, data-required or "
                   "failure; one nested GuidanceResponse per requirement in its output Parameters"),
        ]},
    "questionnaire-package": {
        "name": "QuestionnairePackage", "title": "A REMS form with what it needs", "status": "active",
        "code": "questionnaire-package", "resource": ["Questionnaire"], "system": False, "type": False,
        "instance": True, "affectsState": False,
        "description": "The Questionnaire of a REMS form (PPAF per risk category, patient and prescriber "
                       "surveys, counselling checklist) with its ValueSets and Libraries (none today), as a "
                       "collection Bundle. GET or POST; any REMS bearer token (prescriber, pharmacy, patient).",
        "parameter": [_param("return", "out", 1, "1", "Bundle", "The Questionnaire, ValueSets, Libraries")]},
    "submit": {
        "name": "Submit", "title": "Submit a completed REMS form", "status": "active",
        "code": "submit", "resource": ["QuestionnaireResponse"], "system": False, "type": True,
        "instance": False, "affectsState": True,
        "description": "Submit the answers to a REMS form; they become the same enrollment or survey "
                       "commands as the dashboard's (patient survey: the patient's token; prescriber survey "
                       "and PPAF: the prescriber's). A wrong knowledge answer records a failed survey (R19, "
                       "R20) and answers 422 naming the item; the counselling checklist is recorded with the "
                       "dispense and refused here. The body is the QuestionnaireResponse itself or a "
                       "Parameters holding it as questionnaireResponse.",
        "parameter": [
            _param("questionnaireResponse", "in", 1, "1", "QuestionnaireResponse", "The completed form"),
            _param("return", "out", 1, "1", "OperationOutcome", "What was recorded, or why not")]},
}


def operation_definition(code: str, base_url: str) -> dict[str, Any] | None:
    found = _DEFINITIONS.get(code)
    if found is None:
        return None
    resource = {"resourceType": "OperationDefinition", "id": code, "url": _canonical(base_url, code),
                "version": "1", "kind": "operation", "date": RELEASED, "publisher": "REMS engine", **found}
    OperationDefinition.model_validate(resource)
    return resource


def _canonical(base_url: str, code: str) -> str:
    return f"{base_url}/fhir/r4/OperationDefinition/{code}"


def capability_statement(base_url: str, software_version: str, now: datetime) -> dict[str, Any]:
    """`now` dates the statement (it describes this running instance)."""
    resource: dict[str, Any] = {
        "resourceType": "CapabilityStatement", "status": "active", "date": now.isoformat(),
        "kind": "instance", "publisher": "REMS engine", "fhirVersion": FHIR_VERSION,
        "format": ["json"], "implementationGuide": [IG, SMART_IG], "instantiates": [IG_ADMINISTRATOR],
        "software": {"name": "rems-engine", "version": software_version},
        "implementation": {"description": "REMS Administrator System (PS-Pomalidomide, Lenalidomide and "
                                          "Thalidomide REMS)", "url": f"{base_url}/fhir/r4"},
        "rest": [{
            "mode": "server",
            "documentation": "Bearer tokens issued by the REMS administrator (`rems token create`, "
                             "prescriber or pharmacy role). Our dashboard is a SMART App Launch "
                             "(EHR launch) app: /web/smart/launch with iss and launch; docs/sign-in.md.",
            "security": {"cors": True, "description": "Authorization: Bearer <token>. CORS for the "
                         "configured origins only."},
            "resource": [
                *({"type": kind, "operation": [{"name": code, "definition": _canonical(base_url, code)}]}
                  for code, kind in SERVED.items()),
                {"type": "OperationDefinition", "interaction": [{"code": "read"}]},
            ]}],
    }
    CapabilityStatement.model_validate(resource)
    return resource
