"""FHIR R4 `GuidanceResponse/$rems-etasu` (US Medication REMS IG shapes), validated with fhir.resources.

Models are `fhir.resources.R4B` (4.3): the package's R4-compatible release; Parameters,
GuidanceResponse, Patient, Medication, MedicationRequest and OperationOutcome are unchanged on the
wire between R4 (4.0.1) and R4B for every element used here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.parameters import Parameters
from pydantic import ValidationError

from rems.adapters.uow import UnitOfWork
from rems.domain.errors import NotFound
from rems.interop import codes, etasu, fhir_outcome, json_input
from rems.interop.etasu import Caller, Etasu
from rems.services.context import Context

FHIR_JSON = fhir_outcome.FHIR_JSON
CASE_NAMES = ("caseNumber", "case_number")


class BadParameters(ValueError):
    """Input the operation cannot read: answered with an OperationOutcome, never a 500."""

    def __init__(self, status: int, code: str, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.status, self.code, self.where, self.reason = status, code, where, reason


@dataclass(frozen=True)
class EtasuQuery:
    case_number: str | None = None
    patient_given: bool = False
    patient_id: str | None = None  # our REMS patient id, from an Identifier of REMS_PATIENT only
    codings: tuple[tuple[str, str], ...] = field(default=())  # (system, code) of the medication


def _validated(raw: Any) -> Parameters:
    try:
        return Parameters.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "Parameters"
        raise BadParameters(400, "structure", where, str(first["msg"]).splitlines()[0]) from None
    except (KeyError, TypeError, ValueError, RecursionError) as error:  # e.g. an unknown resourceType inside
        raise BadParameters(400, "structure", "Parameters", f"not a valid R4 Parameters: {error}") from None


def _rems_id(identifiers: Any) -> str | None:
    for identifier in identifiers or []:
        if identifier.system == codes.REMS_PATIENT and identifier.value:
            return str(identifier.value)
    return None


def _codings(concept: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(c.system or ""), str(c.code or "")) for c in (concept.coding or [] if concept else []))


def _medication_codings(resource: Any, where: str) -> tuple[tuple[str, str], ...]:
    kind = resource.get_resource_type()
    if kind == "Medication":
        found = _codings(resource.code)
    elif kind == "MedicationRequest":
        found = _codings(resource.medicationCodeableConcept)
        reference = resource.medicationReference.reference if resource.medicationReference else None
        for contained in resource.contained or []:
            if reference and contained.get_resource_type() == "Medication" \
                    and f"#{contained.id}" == reference:
                found += _codings(contained.code)
    else:
        raise BadParameters(422, "invalid", where, f"must be a Medication or MedicationRequest, not {kind}")
    if not found:
        raise BadParameters(422, "required", where, "no medication coding (RxNorm or NDC) given")
    return found


def parse_etasu(body: bytes) -> EtasuQuery:
    """A Parameters resource: `patient` + `medication`, or a case number (`caseNumber`/`case_number`)."""
    try:
        raw = json_input.loads(body)
    except json_input.BadJson as bad:  # issue 15 item 6: huge numbers, control characters, depth
        status = 400 if bad.where == "body" else 422
        raise BadParameters(status, "structure" if status == 400 else "invalid", bad.where, bad.reason) from None
    if not isinstance(raw, dict) or raw.get("resourceType") != "Parameters":
        raise BadParameters(400, "structure", "resourceType", "the body must be a Parameters resource")
    params = _validated(raw)
    case, patient_given, patient_id = None, False, None
    codings: tuple[tuple[str, str], ...] = ()
    for index, p in enumerate(params.parameter or []):
        where = f"Parameters.parameter[{index}]"
        if p.name in CASE_NAMES:
            case = p.valueString or (p.valueIdentifier.value if p.valueIdentifier else None)
            if not case or not str(case).strip():
                raise BadParameters(422, "required", f"{where}.value[x]", "the case number is empty")
            case = str(case).strip()
        elif p.name == "patient":
            patient_given = True
            if p.resource is not None and p.resource.get_resource_type() == "Patient":
                patient_id = _rems_id(getattr(p.resource, "identifier", None))
            elif p.valueIdentifier is not None:
                patient_id = _rems_id([p.valueIdentifier])
            else:
                raise BadParameters(422, "invalid", where, "patient must be a Patient resource or an Identifier")
        elif p.name == "medication":
            if p.resource is None:
                raise BadParameters(422, "required", where, "medication must be a Medication or MedicationRequest")
            codings = _medication_codings(p.resource, f"{where}.resource")
    if case is None and not (patient_given and codings):
        missing = "medication" if patient_given else "patient"
        raise BadParameters(422, "required", f"Parameters.parameter:{missing}",
                            "give a patient and a medication, or a caseNumber")
    return EtasuQuery(case, patient_given, patient_id, codings)


def answer(uow: UnitOfWork, ctx: Context, caller: Caller, query: EtasuQuery) -> Etasu:
    """The ETASU answer for a case number, or for a patient (our REMS id only) and a medication."""
    try:
        if query.case_number is not None:
            return etasu.for_case(uow, ctx, caller, query.case_number, query.patient_id)
        if query.patient_id is None:
            return etasu.unknown(f"the patient carries no REMS patient id (Identifier system "
                                 f"{codes.REMS_PATIENT}); patients are matched by that id only")
        found = (codes.program_for_medication(s, c, uow.programs.values(), ctx.now) for s, c in query.codings)
        program = next((p for p in found if p is not None), None)
        if program is None:
            return etasu.unknown("the medication is in no REMS program run here (RxNorm or NDC codes)",
                                 what="program")
        return etasu.for_patient(uow, ctx, caller, query.patient_id, program)
    except NotFound as missing:  # e.g. a case of a program no longer loaded here
        return etasu.unknown(str(missing), what="program")


def _subject(patient_id: str | None) -> dict[str, Any] | None:
    if patient_id is None:
        return None
    return {"identifier": {"system": codes.REMS_PATIENT, "value": patient_id}}


def _nested(req: Any, subject: dict[str, Any] | None) -> dict[str, Any]:
    nested: dict[str, Any] = {
        "resourceType": "GuidanceResponse", "moduleUri": codes.MODULE_URI,
        "status": "success" if req.met else "data-required",
        # Issue 18.7: a met requirement carries no failure code (docs/dashboard.md, "Codes").
        **({} if req.met else {"identifier": [{"system": codes.RULES, "value": req.code}]}),
        "reasonCode": [{"coding": [{"system": codes.RULES, "code": req.rule,
                                    "display": codes.requirement_name(req.rule, req.code)}], "text": req.message}],
        "note": [{"text": req.remedy if not req.met and req.remedy else req.message}],
    }
    if subject:
        nested["subject"] = subject
    return nested


def etasu_output(result: Etasu, now: datetime, request_id: str | None) -> dict[str, Any]:
    """Output Parameters: one `rems-etasu` GuidanceResponse, one nested per requirement, the case."""
    subject = _subject(result.patient_id)
    outputs: list[dict[str, Any]] = [{"name": codes.requirement_name(r.rule, r.code), "resource": _nested(r, subject)}
                                     for r in result.requirements]
    if result.case_number:
        outputs.append({"name": "case_number", "valueString": result.case_number})
    response: dict[str, Any] = {
        "resourceType": "GuidanceResponse", "moduleUri": codes.MODULE_URI, "status": result.outcome,
        "occurrenceDateTime": now.isoformat(),
    }
    if outputs:
        response["contained"] = [{"resourceType": "Parameters", "id": "etasuOutputParameters",
                                  "parameter": outputs}]
        response["outputParameters"] = {"reference": "#etasuOutputParameters"}
    if request_id:
        response["requestIdentifier"] = {"system": "urn:rems-engine:request-id", "value": request_id}
    if subject:
        response["subject"] = subject
    if result.case_number:
        response["identifier"] = [{"system": codes.REMS_CASE, "value": result.case_number}]
    if result.outcome == "failure":
        response["note"] = [{"text": result.reason}]
    elif result.program is not None:
        response["note"] = [{"text": f"{result.program.name}: "
                             + ("every requirement is met" if result.outcome == "success" else
                                "; ".join(f"{r.rule} {r.code}" for r in result.unmet))}]
    return checked({"resourceType": "Parameters", "parameter": [{"name": "rems-etasu", "resource": response}]})


def checked(resource: dict[str, Any]) -> dict[str, Any]:
    """Every resource we send is first validated by the R4B models (a bug here is a 500, not bad FHIR)."""
    kind = Parameters if resource["resourceType"] == "Parameters" else OperationOutcome
    kind.model_validate(resource)
    return resource


def outcome(code: str, diagnostics: str, where: str | None = None) -> dict[str, Any]:
    return fhir_outcome.outcome(code, diagnostics, where)
