"""Issue 17 items 4-5, admin only: a program's lifecycle status, the relaxations it declares
(activate, approve by a second administrator, revoke) and the reconciliation list of waiver uses;
items 6 and 9: every program today, its requirement table, and a new version's diff."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse

from rems.api.calls import Calls, reader, writer
from rems.http.errors import problems
from rems.schemas.programs import (
    ActivateIn,
    ActivationOut,
    DiffIn,
    DiffOut,
    ProgramStatusOut,
    ProgramSummaryOut,
    RequirementsOut,
    StatusChangeIn,
    StatusChangeOut,
    WaiverUseOut,
)
from rems.services.programs import program_status, program_views, relaxations

router = APIRouter(prefix="/v1/admin/programs", tags=["admin"], responses=problems(401, 403, 404, 422))
Reader = Annotated[Calls, Depends(reader("admin"))]
Writer = Annotated[Calls, Depends(writer("admin"))]
ProgramId = Annotated[str, Path(min_length=1, max_length=40, description="Program id, e.g. pomalidomide")]
ActivationId = Annotated[str, Path(min_length=1, max_length=40, description="Activation id (rlx_…)")]
Name = Annotated[str, Path(min_length=1, max_length=80, description="A relaxation the program file declares")]


@router.get("/{program_id}/status", response_model=ProgramStatusOut,
            summary="The program's lifecycle state now, its declared and recorded changes")
def show_status(program_id: ProgramId, calls: Reader) -> ProgramStatusOut:
    return calls.read(ProgramStatusOut.model_validate, program_status.describe, program_id)


@router.post("/{program_id}/status", status_code=201, response_model=StatusChangeOut, responses=problems(409),
             summary="Record a lifecycle change (forward only, effective-dated, audited)")
def set_status(program_id: ProgramId, body: StatusChangeIn, calls: Writer) -> JSONResponse:
    return calls.create(StatusChangeOut.of, program_status.record_change, program_id, body.state,
                        body.effective_from, body.reason)


@router.get("/{program_id}/relaxations", response_model=list[ActivationOut],
            summary="Every activation of the program's declared relaxations")
def list_activations(program_id: ProgramId, calls: Reader) -> list[ActivationOut]:
    return calls.read(lambda acts: [ActivationOut.of(a) for a in acts], relaxations.activations, program_id)


@router.post("/{program_id}/relaxations/{name}/activate", status_code=201, response_model=ActivationOut,
             responses=problems(409), summary="Activate a declared relaxation (in force once approved)")
def activate(program_id: ProgramId, name: Name, body: ActivateIn, calls: Writer) -> JSONResponse:
    return calls.create(ActivationOut.of, relaxations.activate, program_id, name, body.reason, body.hours)


@router.post("/{program_id}/relaxations/activations/{activation_id}/approve", response_model=ActivationOut,
             responses=problems(409), summary="Approve an activation (a second, different administrator)")
def approve(program_id: ProgramId, activation_id: ActivationId, calls: Writer) -> JSONResponse:
    return calls.change(ActivationOut.of, relaxations.approve, program_id, activation_id)


@router.post("/{program_id}/relaxations/activations/{activation_id}/revoke", response_model=ActivationOut,
             responses=problems(409), summary="Revoke an activation, pending or in force")
def revoke(program_id: ProgramId, activation_id: ActivationId, calls: Writer) -> JSONResponse:
    return calls.change(ActivationOut.of, relaxations.revoke, program_id, activation_id)


@router.get("/{program_id}/waiver-uses", response_model=list[WaiverUseOut],
            summary="Reconciliation: every decision allowed by enforcement discretion or a relaxation")
def waiver_uses(program_id: ProgramId, calls: Reader,
                waiver: Annotated[str | None, Query(max_length=80, description="Only this waiver")] = None,
                ) -> list[WaiverUseOut]:
    return calls.read(lambda found: [WaiverUseOut.of(u) for u in found], program_status.uses, program_id,
                      waiver)


@router.get("", response_model=list[ProgramSummaryOut],
            summary="Every program with its lifecycle state today and its requirement count")
def list_programs(calls: Reader) -> list[ProgramSummaryOut]:
    return calls.read(lambda found: [ProgramSummaryOut.model_validate(p) for p in found], program_views.overview)


@router.get("/{program_id}/requirements", response_model=RequirementsOut,
            summary="The program's requirement table and the linter's findings")
def requirement_table(program_id: ProgramId, calls: Reader) -> RequirementsOut:
    return calls.read(RequirementsOut.model_validate, program_views.requirements, program_id)


@router.post("/{program_id}/diff", response_model=DiffOut, responses=problems(413),
             summary="A new version before it takes effect: who would be refused or freed on its date")
def diff(program_id: ProgramId, body: DiffIn, calls: Reader) -> DiffOut:
    """Replays today's live patients (readiness, and each open authorization at its next stage)
    under the version in force and under `toml` on `on`. Writes nothing. A malformed file is a 422
    naming the file's field (e.g. `requirements[2].rule`); a file for another program, `id`."""
    return calls.read(DiffOut.model_validate, program_views.diff, program_id, body.toml, body.on)
