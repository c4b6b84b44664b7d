"""Compliance reports (JSON or CSV), their plots, and the audit chain's verification: the
administrator only (issue 6)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from rems.api.calls import Calls, reader
from rems.domain.errors import InvalidInput
from rems.http.errors import problems
from rems.schemas.common import DayOrInstant
from rems.schemas.reports import (
    PatientHistoryOut,
    PeriodSummaryOut,
    PharmacyComplianceOut,
    PrescriberComplianceOut,
    VerificationOut,
)
from rems.services import reports
from rems.services.audit import audit_verify

router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=problems(401, 403, 422))
Reader = Annotated[Calls, Depends(reader("admin"))]
Start = Annotated[DayOrInstant, Query(description="First moment of the period: a date (UTC midnight) "
                                                  "or a time with its offset (T1: refused without)")]
End = Annotated[DayOrInstant, Query(description="End of the period, excluded: a date (UTC midnight) "
                                                "or a time with its offset")]
Format = Annotated[Literal["json", "csv"], Query(alias="format", description="json or csv")]
CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {"schema": {"type": "string"}}},
             "description": "JSON, or CSV with format=csv"}}
PNG: dict[int | str, dict[str, Any]] = {200: {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
             "description": "A PNG image"}}


def _csv(text: str) -> Response:
    return Response(text, media_type="text/csv; charset=utf-8")


def _either(fmt: str, as_json: Callable[[Any], Any], as_csv: Callable[[Any], str]) -> Callable[[Any], Any]:
    return (lambda found: _csv(as_csv(found))) if fmt == "csv" else as_json


@router.get("/reports/period", response_model=PeriodSummaryOut, responses=CSV,
            summary="A period's dispenses, refusals by rule, expired authorizations, overdue tests, "
                    "pregnancies")
def period(start: Start, end: End, calls: Reader, fmt: Format = "json") -> Any:
    return calls.read(_either(fmt, PeriodSummaryOut.of, reports.summary_csv), reports.period_summary,
                      reports.Period.of(start, end))


@router.get("/reports/prescribers", response_model=list[PrescriberComplianceOut], responses=CSV,
            summary="Per prescriber compliance: refusals, late surveys (R20), certification (R1-R3)")
def prescribers(start: Start, end: End, calls: Reader, fmt: Format = "json") -> Any:
    return calls.read(_either(fmt, lambda rows: [PrescriberComplianceOut.model_validate(r, from_attributes=True)
                                                 for r in rows],
                              lambda rows: reports.records_csv(rows, reports.PrescriberCompliance)),
                      reports.prescriber_compliance, reports.Period.of(start, end))


@router.get("/reports/pharmacies", response_model=list[PharmacyComplianceOut], responses=CSV,
            summary="Per pharmacy compliance: dispenses, refusals, certification (R25)")
def pharmacies(start: Start, end: End, calls: Reader, fmt: Format = "json") -> Any:
    return calls.read(_either(fmt, lambda rows: [PharmacyComplianceOut.model_validate(r, from_attributes=True)
                                                 for r in rows],
                              lambda rows: reports.records_csv(rows, reports.PharmacyCompliance)),
                      reports.pharmacy_compliance, reports.Period.of(start, end))


@router.get("/reports/patients/{patient_id}/history", response_model=PatientHistoryOut,
            responses={**CSV, **problems(404)},
            summary="One patient's full history, in order, as the audit trail tells it")
def history(patient_id: Annotated[str, Path(min_length=1, max_length=40, description="Patient id")],
            calls: Reader, fmt: Format = "json") -> Any:
    return calls.read(_either(fmt, PatientHistoryOut.of, reports.history_csv), reports.patient_history,
                      patient_id)


@router.get("/reports/plots/{kind}", response_class=Response, responses=PNG,
            summary="PNG plot: refused gates by rule over time, or dispenses over time")
def plot(kind: Annotated[Literal["refusals", "dispenses"], Path(description="refusals or dispenses")],
         start: Start, end: End, calls: Reader) -> Response:
    period = reports.Period.of(start, end)
    series = calls.read(lambda s: s, reports.activity_series, period)
    return Response(reports.plot_png(series, kind), media_type="image/png")


@router.get("/audit/verify", response_model=VerificationOut,
            summary="Walk the audit hash chain: the first entry altered, inserted or removed")
def verify(calls: Reader,
           head_seq: Annotated[int | None, Query(ge=0, description="An exported head's sequence")] = None,
           head_hash: Annotated[str | None, Query(description="An exported head's hash (with head_seq)")]
           = None) -> VerificationOut:
    anchor = None
    if head_seq is not None or head_hash is not None:
        if head_seq is None or head_hash is None:
            raise InvalidInput("head_hash" if head_hash is None else "head_seq",
                               "give head_seq and head_hash together")
        anchor = audit_verify.Head.parse({"seq": head_seq, "hash": head_hash})
    return calls.read(VerificationOut.of, audit_verify.verify, anchor)
