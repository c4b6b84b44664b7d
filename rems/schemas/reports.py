"""Response bodies of the compliance reports and the audit chain's verification (issue 6)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from pydantic import Field

from rems.schemas.common import Out
from rems.services import reports
from rems.services.audit.audit_verify import Verification


class PeriodSummaryOut(Out):
    start: datetime = Field(description="First moment of the period (UTC, included)")
    end: datetime = Field(description="End of the period (UTC, excluded)")
    as_of: datetime = Field(description="When overdue figures were judged: the end, or now if earlier")
    dispenses: int = Field(description="Dispenses recorded in the period")
    dispenses_by_category: dict[str, int] = Field(description="Dispenses by risk category (R5a)")
    authorizations_issued: int = Field(description="Authorization numbers issued in the period (R19)")
    authorizations_expired_unused: int = Field(
        description="R23: authorizations that expired in the period, never dispensed nor voided")
    refusals: int = Field(description="Refused gates (authorize, check, confirm, dispense)")
    refusals_by_stage: dict[str, int] = Field(description="Refused gates by stage")
    refusals_by_rule: dict[str, int] = Field(description="Refused gates in which each rule id failed")
    pregnancy_tests_overdue: list[str] = Field(description="R11: ids of FRP patients in treatment "
                                                           "whose pregnancy test is overdue")
    pregnancies_reported: int = Field(description="R30: pregnancy reports opened in the period")
    pregnancies_by_source: dict[str, int] = Field(description="R30: pregnancy reports by source")

    @classmethod
    def of(cls, s: reports.PeriodSummary) -> PeriodSummaryOut:
        return cls(**asdict(s))


class PrescriberComplianceOut(Out):
    prescriber_id: str = Field(description="Prescriber id")
    state: str = Field(description="Certification now (R1, R3)")
    authorizations_issued: int = Field(description="Authorizations issued in the period")
    refusals: int = Field(description="Refused gates on this prescriber's prescriptions")
    late_surveys: int = Field(description="R20: patients in treatment whose survey is overdue")
    certification_lapses: int = Field(description="Lapses, suspensions, revocations in the period")
    certified: bool = Field(description="Certified now")


class PharmacyComplianceOut(Out):
    pharmacy_id: str = Field(description="Pharmacy id")
    state: str = Field(description="Certification now (R25)")
    dispenses: int = Field(description="Dispenses in the period")
    refusals: int = Field(description="Refused checks, confirmations and dispenses at this pharmacy")
    certification_lapses: int = Field(description="Lapses, suspensions, revocations in the period")
    certified: bool = Field(description="Certified now")


class HistoryEntryOut(Out):
    seq: int | None = Field(description="Place in the audit hash chain")
    at: datetime = Field(description="When")
    actor: str = Field(description="Who acted")
    entity: str = Field(description="Kind of record (gate: a refused gate on a prescription)")
    entity_id: str = Field(description="Record id")
    trigger: str = Field(description="What happened")
    from_state: str | None = Field(description="State before")
    to_state: str | None = Field(description="State after")
    rules: list[str] = Field(description="Codes of the reasons recorded (every failing rule)")
    request_id: str | None = Field(description="The request that caused it")


class PatientHistoryOut(Out):
    patient_id: str = Field(description="Patient id")
    entries: list[HistoryEntryOut] = Field(description="Every audit entry about the patient, in order")

    @classmethod
    def of(cls, h: reports.PatientHistory) -> PatientHistoryOut:
        return cls(**asdict(h))


class HeadOut(Out):
    seq: int = Field(description="Sequence number of the entry")
    hash: str = Field(description="Its SHA-256 chain hash")


class FindingOut(Out):
    kind: str = Field(description="altered, inserted, removed or rewritten")
    seq: int | None = Field(description="Where in the chain")
    entry_id: int | None = Field(description="The audit_log row concerned, if there is one")
    detail: str = Field(description="What does not hold")


class VerificationOut(Out):
    ok: bool = Field(description="Every link, the stored head and the given head hold")
    entries: int = Field(description="Entries verified")
    head: HeadOut = Field(description="The last entry that verified: export it to check against later")
    finding: FindingOut | None = Field(description="The first entry altered, inserted or removed")

    @classmethod
    def of(cls, v: Verification) -> VerificationOut:
        return cls.model_validate(v.as_dict())
