"""The program administrator: enroll and certify prescribers and pharmacies, read any audit trail."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse

from rems.api.calls import Calls, reader, writer
from rems.http.errors import problems
from rems.schemas.inputs import CertificationChangeIn, EnrollPharmacyIn, EnrollPrescriberIn
from rems.schemas.outputs import AuditEntryOut, CertificationOut, PharmacyOut, PrescriberOut, SweepOut
from rems.services.commands import EnrollPharmacy, EnrollPrescriber, parse
from rems.services.enrollment import certification
from rems.services.reminders.sweeps import expire_due
from rems.services.views import queries

router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=problems(401, 403, 422))
Reader = Annotated[Calls, Depends(reader("admin"))]
Writer = Annotated[Calls, Depends(writer("admin"))]
Trigger = Literal["certify", "suspend", "reinstate", "revoke", "lapse", "recertify"]
Entity = Literal["prescriber", "pharmacy", "patient", "pregnancy_testing", "prescription", "confirmation",
                 "pregnancy_test", "patient_survey", "pregnancy_report", "api", "api_token", "gate",
                 "notification", "person", "program", "relaxation"]


@router.post("/prescribers", status_code=201, response_model=PrescriberOut, responses=problems(409),
             summary="Enroll a prescriber (R1, R2); certify next")
def enroll_prescriber(body: EnrollPrescriberIn, calls: Writer) -> JSONResponse:
    cmd = parse(EnrollPrescriber, **body.model_dump())
    return calls.create(PrescriberOut.of, certification.enroll_prescriber, cmd)


@router.post("/pharmacies", status_code=201, response_model=PharmacyOut, responses=problems(409),
             summary="Enroll a pharmacy through its authorized representative (R25); certify next")
def enroll_pharmacy(body: EnrollPharmacyIn, calls: Writer) -> JSONResponse:
    cmd = parse(EnrollPharmacy, **body.model_dump())
    return calls.create(PharmacyOut.of, certification.enroll_pharmacy, cmd)


@router.get("/prescribers/{record_id}", response_model=PrescriberOut, responses=problems(404),
            summary="A prescriber and its certification in each program (R1-R3)")
def show_prescriber(record_id: Annotated[str, Path(min_length=1, max_length=40, description="Prescriber id")],
                    calls: Reader) -> PrescriberOut:
    return calls.read(PrescriberOut.found, queries.prescriber, record_id)


@router.get("/pharmacies/{record_id}", response_model=PharmacyOut, responses=problems(404),
            summary="A pharmacy and its certification in each program (R25)")
def show_pharmacy(record_id: Annotated[str, Path(min_length=1, max_length=40, description="Pharmacy id")],
                  calls: Reader) -> PharmacyOut:
    return calls.read(PharmacyOut.found, queries.pharmacy, record_id)


RecordId = Annotated[str, Path(min_length=1, max_length=40, description="Record id")]
TriggerIn = Annotated[Trigger, Path(description="The certification change")]
_CHANGE_SUMMARY = ("Certify, suspend, reinstate, revoke, lapse or recertify {} in one program ({}), audited")


def _change(calls: Calls, kind: certification.Kind, record_id: str, trigger: str,
            body: CertificationChangeIn | None) -> JSONResponse:
    program_id = certification.program_of(calls.app.programs, body.program_id if body else None,
                                           calls.app.settings.default_program)
    return calls.change(CertificationOut.of, certification.change_certification, kind, record_id,
                        trigger, program_id)


# One route per kind, not /{kind}/...: a POST on a GET path such as /audit/{entity}/{id} is then
# a 405, not a 422 about an unknown kind (issue 15 item 6).
@router.post("/prescribers/{record_id}/{trigger}", response_model=CertificationOut,
             responses=problems(404, 409), summary=_CHANGE_SUMMARY.format("a prescriber", "R1-R3"))
def change_prescriber_certification(record_id: RecordId, trigger: TriggerIn, calls: Writer,
                                    body: CertificationChangeIn | None = None) -> JSONResponse:
    """Certification is per program: the body names it (`program_id`), which may be left out only
    where a single program is loaded. Suspending or revoking a prescriber voids their open
    authorizations in that program (R3)."""
    return _change(calls, "prescriber", record_id, trigger, body)


@router.post("/pharmacies/{record_id}/{trigger}", response_model=CertificationOut,
             responses=problems(404, 409), summary=_CHANGE_SUMMARY.format("a pharmacy", "R25"))
def change_pharmacy_certification(record_id: RecordId, trigger: TriggerIn, calls: Writer,
                                  body: CertificationChangeIn | None = None) -> JSONResponse:
    """Certification is per program: the body names it (`program_id`), which may be left out only
    where a single program is loaded. A pharmacy no longer certified there loses its live
    confirmations in that program (R25)."""
    return _change(calls, "pharmacy", record_id, trigger, body)


@router.get("/audit/{entity}/{entity_id}", response_model=list[AuditEntryOut], responses=problems(404),
            summary="The audit trail of any record, oldest first")
def audit_trail(entity: Annotated[Entity, Path(description="Kind of record (api: refused accesses "
                                                           "of an actor id)")],
                entity_id: Annotated[str, Path(min_length=1, max_length=40, description="Record id")],
                calls: Reader) -> list[AuditEntryOut]:
    return calls.read(lambda trail: [AuditEntryOut.of(a) for a in trail], queries.audit_trail,
                      entity, entity_id)


@router.post("/sweep", response_model=SweepOut,
             summary="Expire authorizations (R23) and confirmations (R27) past their time")
def sweep(calls: Writer) -> JSONResponse:
    return calls.change(lambda counts: SweepOut(**counts), expire_due)
