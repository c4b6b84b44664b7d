"""Issue 19 item 3: the API's request bodies (rems.schemas) state the input limits the services'
commands check (rems.services.commands), field by field, so the OpenAPI document cannot promise
one limit while the use case enforces another."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from rems.schemas import inputs, labs, persons
from rems.services import commands
from rems.services.enrollment import labs as lab_service

LIMITS = ("minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
          "maxItems", "pattern")
PAIRS = [
    (inputs.EnrollPrescriberIn, commands.EnrollPrescriber),
    (inputs.EnrollPharmacyIn, commands.EnrollPharmacy),
    (inputs.EnrollPatientIn, commands.EnrollPatient),
    (inputs.IdentifierIn, commands.Identifier),
    (inputs.PpafIn, commands.PpafSignature),
    (inputs.ContactIn, commands.PatientContact),
    (inputs.RenewPpafIn, commands.RenewPpaf),
    (inputs.PregnancyTestIn, commands.RecordPregnancyTest),
    (inputs.PrescriptionIn, commands.RequestAuthorization),
    (inputs.ConfirmationIn, commands.PharmacyRequest),
    (inputs.DispenseIn, commands.RecordDispense),
    (inputs.PatientSurveyIn, commands.RecordPatientSurvey),
    (persons.TransferIn, commands.TransferPatient),
    (persons.ReadmissionIn, commands.DecideReadmission),
    (persons.CorrectFactsIn, commands.CorrectFacts),
    (labs.LabResultIn, lab_service.RecordLabResult),
]
# What only the API says: a pattern documenting what the domain's check accepts (R1, R25), and a
# non-empty NDC (the command refuses an empty one as no NDC form).
API_ONLY = {("EnrollPrescriberIn", "npi"): {"pattern"}, ("EnrollPharmacyIn", "ncpdp_id"): {"pattern"},
            ("PrescriptionIn", "ndc"): {"minLength"}}


def _limits(spec: dict[str, Any]) -> dict[str, Any]:
    found = {key: spec[key] for key in LIMITS if key in spec}
    for option in spec.get("anyOf", []):  # an optional field: its limits are on the non-null side
        found |= _limits(option)
    return found


def _fields(model: type[BaseModel]) -> dict[str, dict[str, Any]]:
    return {name: _limits(spec) for name, spec in model.model_json_schema()["properties"].items()}


@pytest.mark.parametrize(("body", "command"), PAIRS, ids=[body.__name__ for body, _ in PAIRS])
def test_an_api_body_states_its_commands_limits(body: type[BaseModel], command: type[BaseModel]) -> None:
    api, checked = _fields(body), _fields(command)
    shared = set(api) & set(checked)
    assert shared, (body.__name__, command.__name__)
    differences = {name: (api[name], checked[name]) for name in sorted(shared)
                   if {k: v for k, v in api[name].items() if k not in API_ONLY.get((body.__name__, name), set())}
                   != checked[name]}
    assert differences == {}
