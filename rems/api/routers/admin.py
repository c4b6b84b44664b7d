"""The program administrator: enroll and certify prescribers and pharmacies, read any audit trail."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse

from rems.api.calls import Calls, reader, writer
from rems.api.errors import problems
from rems.api.schemas.inputs import CertificationChangeIn, EnrollPharmacyIn, EnrollPrescriberIn
from rems.api.schemas.outputs import AuditEntryOut, CertificationOut, PharmacyOut, PrescriberOut, SweepOut
from rems.services import certification, queries
from rems.services.commands import EnrollPharmacy, EnrollPrescriber, parse
from rems.services.sweeps import expire_due

router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=problems(401, 403, 422))
Reader = Annotated[Calls, Depends(reader("admin"))]
Writer = Annotated[Calls, Depends(writer("admin"))]
Kind = Literal["prescribers", "pharmacies"]
Trigger = Literal["certify", "suspend", "reinstate", "revoke", "lapse", "recertify"]
Entity = Literal["prescriber", "pharmacy", "patient", "pregnancy_testing", "prescription", "confirmation",
                 "pregnancy_test", "patient_survey", "pregnancy_report", "api", "api_token", "gate",
                 "notification", "person"]
_KIND: dict[str, certification.Kind] = {"prescribers": "prescriber", "pharmacies": "pharmacy"}


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


@router.post("/{kind}/{record_id}/{trigger}", response_model=CertificationOut,
             responses=problems(404, 409),
             summary="Certify, suspend, reinstate, revoke, lapse or recertify in one program (R1-R3, R25), "
                     "audited")
def change_certification(
        kind: Annotated[Kind, Path(description="prescribers or pharmacies")],
        record_id: Annotated[str, Path(min_length=1, max_length=40, description="Record id")],
        trigger: Annotated[Trigger, Path(description="The certification change")],
        calls: Writer, body: CertificationChangeIn | None = None) -> JSONResponse:
    """Certification is per program: the body names it (`program_id`), which may be left out only
    where a single program is loaded. Suspending or revoking a prescriber voids their open
    authorizations in that program (R3); a pharmacy no longer certified there loses its live
    confirmations in that program (R25)."""
    program_id = certification.program_of(calls.app.programs, body.program_id if body else None,
                                           calls.app.settings.default_program)
    return calls.change(CertificationOut.of, certification.change_certification, _KIND[kind], record_id,
                        trigger, program_id)


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
