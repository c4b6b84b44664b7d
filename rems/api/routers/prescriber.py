"""The prescriber: own enrollment, own patients with their gates, prescriptions (R1, R5, R19-R24)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse

from rems.api.calls import Calls, reader, writer
from rems.http.errors import problems
from rems.schemas.inputs import EnrollPatientIn, PrescriptionIn
from rems.schemas.outputs import PatientOut, PatientStatusOut, PrescriberOut, PrescriptionOut
from rems.services.commands import EnrollPatient, RequestAuthorization, parse
from rems.services.dispensing import prescriptions
from rems.services.enrollment import patients
from rems.services.views import queries, status

router = APIRouter(prefix="/v1/prescriber", tags=["prescriber"], responses=problems(401, 403, 404, 422))
Reader = Annotated[Calls, Depends(reader("prescriber"))]
Writer = Annotated[Calls, Depends(writer("prescriber"))]
PatientId = Annotated[str, Path(min_length=1, max_length=40, description="One of your patients' ids")]
PrescriptionId = Annotated[str, Path(min_length=1, max_length=40, description="One of your prescriptions")]


@router.get("/me", response_model=PrescriberOut, summary="Your enrollment and certification (R1-R3)")
def me(calls: Reader) -> PrescriberOut:
    return calls.read(PrescriberOut.found, queries.prescriber, calls.actor_id)


@router.post("/patients", status_code=201, response_model=PatientOut, responses=problems(409),
             summary="Enroll a patient with a signed PPAF for one risk category (R5-R8)")
def enroll_patient(body: EnrollPatientIn, calls: Writer) -> JSONResponse:
    cmd = parse(EnrollPatient, prescriber_id=calls.actor_id, **body.model_dump())
    return calls.create(PatientOut.of, patients.enroll_patient, cmd)


@router.get("/patients", response_model=list[PatientStatusOut],
            summary="Your patients: each one's state, what blocks them and what is due next")
def list_patients(calls: Reader,
                  limit: Annotated[int, Query(ge=1, le=200, description="At most this many")] = 50,
                  offset: Annotated[int, Query(ge=0, le=1_000_000, description="Skip this many")] = 0,
                  ) -> list[PatientStatusOut]:
    return calls.read(lambda rows: [PatientStatusOut.of(r) for r in rows], status.patients_status,
                      calls.actor_id, limit, offset)


@router.get("/patients/{patient_id}", response_model=PatientStatusOut,
            summary="One of your patients: every gate, green or red, and what is due next")
def patient_status(patient_id: PatientId, calls: Reader) -> PatientStatusOut:
    return calls.read(PatientStatusOut.of, status.patient_status, patient_id, calls.actor_id)


@router.post("/prescriptions", status_code=201, response_model=PrescriptionOut,
             summary="Write a prescription and ask for its authorization number (R19-R24)")
def request_authorization(body: PrescriptionIn, calls: Writer) -> JSONResponse:
    """201 either way: the prescription is kept; `authorized` and `decision` say whether a number
    was issued and, if not, every failing rule (complete the survey or the tests, then retry)."""
    cmd = parse(RequestAuthorization, prescriber_id=calls.actor_id, **body.model_dump())
    return calls.create(PrescriptionOut.outcome, prescriptions.request_authorization, cmd)


@router.post("/prescriptions/{prescription_id}/survey", response_model=PrescriptionOut,
             responses=problems(409), summary="The prescriber survey (R19); authorizes if all else holds")
def prescriber_survey(prescription_id: PrescriptionId, calls: Writer) -> JSONResponse:
    return calls.change(PrescriptionOut.outcome, prescriptions.record_prescriber_survey, prescription_id,
                        calls.actor_id)


@router.post("/prescriptions/{prescription_id}/authorize", response_model=PrescriptionOut,
             responses=problems(409), summary="Retry the authorization of a pending prescription")
def authorize(prescription_id: PrescriptionId, calls: Writer) -> JSONResponse:
    return calls.change(PrescriptionOut.outcome, prescriptions.authorize, prescription_id, calls.actor_id)


@router.post("/prescriptions/{prescription_id}/void", response_model=PrescriptionOut,
             responses=problems(409), summary="Void a prescription and any live confirmation")
def void(prescription_id: PrescriptionId, calls: Writer) -> JSONResponse:
    return calls.change(PrescriptionOut.of, prescriptions.void_prescription, prescription_id,
                        calls.actor_id)
