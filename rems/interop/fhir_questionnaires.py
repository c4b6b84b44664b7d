"""The FHIR routes of the forms (issue 16 item 3): `$questionnaire-package` and `QuestionnaireResponse/$submit`.

Same bearer tokens and scoping as `$rems-etasu` (rems/interop/web.py), plus the patient role for
the patient survey. A form becomes the dashboard's command (rems/services/questionnaires.py):
patient survey (the patient's own token; `subject` may only name the caller) -> R20; prescriber
survey (prescriber token, own prescription) -> R19; enrollment PPAF (prescriber token) -> R5-R8;
the counselling checklist is refused (it is recorded with the dispense, R27). Every answer is an
OperationOutcome: information on success, error naming the item's linkId on bad answers.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from fhir.resources.R4B.operationoutcome import OperationOutcome

from rems.domain.errors import InvalidInput, NotFound
from rems.interop import fhir, fhir_outcome, questionnaires
from rems.interop.web import Call
from rems.services import questionnaires as forms
from rems.services.commands import RecordPatientSurvey, parse

_ROLE = {"patient_survey": "patient", "prescriber_survey": "prescriber", "enrollment": "prescriber",
         "counselling": "pharmacy"}


def _reply(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=fhir.FHIR_JSON)


def _error(status: int, diagnostics: str, where: str | None = None) -> JSONResponse:
    return _reply(status, fhir_outcome.outcome(fhir_outcome.ISSUE.get(status, "processing"), diagnostics, where))


def _done(diagnostics: str, **ids: str) -> JSONResponse:
    issue: dict[str, Any] = {"severity": "information", "code": "informational", "diagnostics": diagnostics}
    if ids:
        issue["details"] = {"coding": [{"system": f"urn:rems-engine:{kind}", "code": value}
                                       for kind, value in ids.items()]}
    resource = {"resourceType": "OperationOutcome", "issue": [issue]}
    OperationOutcome.model_validate(resource)
    return _reply(200, resource)


def package_for(call: Call, questionnaire_id: str) -> JSONResponse:
    try:
        program, spec = forms.find(call.app.programs, questionnaire_id)
    except NotFound:
        return _error(404, f"no Questionnaire {questionnaire_id!r} in the programs run here")
    return _reply(200, questionnaires.package(call.app.settings.public_base_url, program, spec, call.ctx.now))


def _where(field: str) -> str:
    if field == "respondent":  # R6: a guardian answers for a child, named by `source`
        return "QuestionnaireResponse.source"
    if field.startswith("answers."):
        return f"QuestionnaireResponse.item.where(linkId='{field.removeprefix('answers.')}')"
    return f"QuestionnaireResponse.{field}"


def submit(call: Call, body: bytes) -> JSONResponse:
    try:
        return _submit(call, body)
    except NotFound as missing:  # audited once the unit of work is closed (it holds the write lock)
        call.hidden(str(missing))
        return _error(404, f"{missing}: not found, or not yours")


def _submit(call: Call, body: bytes) -> JSONResponse:
    try:
        response = questionnaires.read_response(body)
        qid = questionnaires.questionnaire_id(response)
        subject = questionnaires.subject_patient(response)
    except fhir.BadParameters as bad:
        return _reply(bad.status, fhir.outcome(bad.code, f"{bad.where}: {bad.reason}", bad.where))
    role, actor = call.principal.role, call.principal.actor_id
    with call.app.uow() as uow:
        try:
            _, spec = forms.find(uow.programs, qid)
        except NotFound:
            return _error(404, f"no Questionnaire {qid!r} in the programs run here",
                          "QuestionnaireResponse.questionnaire")
        if spec.form == "counselling":
            refused = forms.refuse_counselling(spec)
            return _error(422, str(refused), "QuestionnaireResponse.questionnaire")
        if role != _ROLE[spec.form]:
            return _error(403, f"a {spec.form.replace('_', ' ')} is submitted with a {_ROLE[spec.form]} token, "
                          f"not a {role} token")
        try:
            given = questionnaires.answers(spec, response)
            if spec.form == "patient_survey":
                if subject is not None and subject != actor:  # scoping: only one's own survey
                    raise NotFound("patient", subject)
                guardian = response.source is not None and str(response.source.reference or "").startswith(
                    "RelatedPerson")
                cmd = parse(RecordPatientSurvey, patient_id=actor, respondent="guardian" if guardian else "patient")
                survey = forms.submit_patient_survey(uow, call.ctx, qid, cmd, given)
                return _done(f"patient survey recorded (R20) for {survey.patient_id}", patient_survey=survey.id)
            if spec.form == "prescriber_survey":
                outcome = forms.submit_prescriber_survey(uow, call.ctx, qid, actor, given)
                decision = outcome.decision
                state = "the authorization is issued" if decision.allowed else \
                    "not authorized yet: " + ", ".join(f.code for f in decision.failures)
                return _done(f"prescriber survey recorded (R19) for {outcome.prescription.id}; {state}",
                             prescription=outcome.prescription.id)
            patient = forms.submit_enrollment(uow, call.ctx, qid, actor, given)
            return _done(f"patient enrolled (R5-R8): {patient.id}", patient=patient.id)
        except InvalidInput as bad:
            return _error(422, f"{bad.field.removeprefix('answers.')}: {bad.reason}", _where(bad.field))
