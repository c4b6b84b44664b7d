"""Response bodies: what each role sees of a record, and no more."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from pydantic import Field

from rems.domain.model import (
    AuditEntry,
    Certification,
    Confirmation,
    Dispense,
    Patient,
    PatientSurvey,
    Pharmacy,
    PregnancyTest,
    Prescriber,
    Prescription,
)
from rems.domain.requirements import Decision
from rems.schemas.common import DecisionOut, Out, RequirementOut, WaiverOut
from rems.services.dispensing.prescriptions import Outcome

STATE = "State in its workflow (see the state machines in docs/workflows.md)"


class ProgramCertificationOut(Out):
    program_id: str = Field(description="REMS program of this certification (R1, R25: per program)")
    state: str = Field(description=f"Certification in this program: {STATE}")
    certified_at: datetime | None = Field(description="When last certified in this program")

    @classmethod
    def of(cls, c: Certification) -> ProgramCertificationOut:
        return cls(program_id=c.program_id, state=c.state, certified_at=c.certified_at)


class PrescriberOut(Out):
    id: str = Field(description="Prescriber id")
    name: str = Field(description="Full name")
    npi: str = Field(description="National Provider Identifier")
    attested: bool = Field(description="R2 attestation signed")
    education_reviewed: bool = Field(description="R1 REMS education reviewed")
    enrolled_at: datetime = Field(description="When enrolled")
    certifications: list[ProgramCertificationOut] = Field(
        description="Certification per program (R1, R3); a program not listed: not certified in it")

    @classmethod
    def of(cls, p: Prescriber, certifications: Sequence[Certification] = ()) -> PrescriberOut:
        return cls(id=p.id, name=p.name, npi=p.npi, attested=p.attested,
                   education_reviewed=p.education_reviewed, enrolled_at=p.enrolled_at,
                   certifications=[ProgramCertificationOut.of(c) for c in certifications])

    @classmethod
    def found(cls, found: tuple[Prescriber, Sequence[Certification]]) -> PrescriberOut:
        return cls.of(*found)


class PharmacyOut(Out):
    id: str = Field(description="Pharmacy id")
    name: str = Field(description="Pharmacy name")
    ncpdp_id: str = Field(description="NCPDP pharmacy id")
    enrolled_at: datetime = Field(description="When enrolled")
    certifications: list[ProgramCertificationOut] = Field(
        description="Certification per program (R25); a program not listed: not certified in it")

    @classmethod
    def of(cls, p: Pharmacy, certifications: Sequence[Certification] = ()) -> PharmacyOut:
        return cls(id=p.id, name=p.name, ncpdp_id=p.ncpdp_id, enrolled_at=p.enrolled_at,
                   certifications=[ProgramCertificationOut.of(c) for c in certifications])

    @classmethod
    def found(cls, found: tuple[Pharmacy, Sequence[Certification]]) -> PharmacyOut:
        return cls.of(*found)


class CertificationOut(Out):
    kind: str = Field(description="prescriber or pharmacy")
    id: str = Field(description="The prescriber's or pharmacy's id")
    program_id: str = Field(description="The program of this certification (R1, R25)")
    state: str = Field(description=f"Certification in this program after the change: {STATE}")
    certified_at: datetime | None = Field(description="When last certified in this program")

    @classmethod
    def of(cls, c: Certification) -> CertificationOut:
        return cls(kind=c.holder_kind, id=c.holder_id, program_id=c.program_id, state=c.state,
                   certified_at=c.certified_at)


class PatientOut(Out):
    id: str = Field(description="Patient id")
    program_id: str = Field(description="REMS program")
    prescriber_id: str = Field(description="The enrolling prescriber")
    state: str = Field(description=f"Enrollment: {STATE}")
    test_phase: str = Field(description="R9-R11 pregnancy-testing phase")
    cycles_regular: bool = Field(description="R11: regular menstrual cycles")
    birth_date: date = Field(description="Birth date")

    @classmethod
    def of(cls, p: Patient) -> PatientOut:
        return cls(id=p.id, program_id=p.program_id, prescriber_id=p.prescriber_id, state=p.state,
                   test_phase=p.test_phase, cycles_regular=p.cycles_regular, birth_date=p.birth_date)


class DueOut(Out):
    what: str = Field(description="What is due, e.g. pregnancy test")
    rule: str = Field(description="Rule id")
    due: str = Field(description="When (ISO 8601 date or date-time, UTC)")
    overdue: bool = Field(description="Already past")


class PrescriptionStatusOut(Out):
    id: str = Field(description="Prescription id")
    number: str | None = Field(description="R22: authorization number, once issued")
    state: str = Field(description=f"Prescription: {STATE}")
    category: str = Field(description="R22: risk category it was written for")
    days_supply: int = Field(description="Days of supply")
    expires_at: datetime | None = Field(description="R23: when the authorization expires")
    failures: list[RequirementOut] | None = Field(
        default=None, description="What blocks its next step (open prescriptions only)")
    waivers: list[WaiverOut] | None = Field(
        default=None, description="Issue 17: why its failures are allowed anyway (discretion, a relaxation)")


class PatientStatusOut(Out):
    patient_id: str = Field(description="Patient id")
    program: str = Field(description="REMS program")
    state: str = Field(description=f"Enrollment: {STATE}")
    category: str = Field(description="R5a: the risk category the patient's facts give today")
    ppaf_category: str | None = Field(description="R8: the category of the latest PPAF")
    test_phase: str = Field(description="R9-R11 pregnancy-testing phase")
    ready: bool = Field(description="Every patient-level gate holds")
    gates: list[RequirementOut] = Field(description="Every patient-level gate, met or not")
    due_next: list[DueOut] = Field(description="What is due next, soonest first")
    prescriptions: list[PrescriptionStatusOut] = Field(description="The patient's prescriptions")

    @classmethod
    def of(cls, data: dict[str, Any]) -> PatientStatusOut:
        return cls.model_validate(data)


class PrescriptionOut(Out):
    id: str = Field(description="Prescription id")
    patient_id: str = Field(description="Patient id")
    state: str = Field(description=f"Prescription: {STATE}")
    authorized: bool = Field(description="R19: an authorization number was issued")
    number: str | None = Field(description="R22: the authorization number, once issued")
    category: str = Field(description="R22: the patient's risk category, printed on the prescription")
    days_supply: int = Field(description="Days of supply")
    expires_at: datetime | None = Field(description="R23: when the authorization expires")
    decision: DecisionOut | None = Field(
        default=None, description="The authorization gate, when this call evaluated it: every requirement")
    ndc: str | None = Field(default=None, description="The product prescribed (11-digit NDC), if named")
    strength: str | None = Field(default=None, description='The strength ordered (e.g. "4 mg"), if given')

    @classmethod
    def of(cls, rx: Prescription, decision: Decision | None = None) -> PrescriptionOut:
        return cls(id=rx.id, patient_id=rx.patient_id, state=rx.state, authorized=rx.number is not None,
                   number=rx.number, category=rx.category, days_supply=rx.days_supply,
                   expires_at=rx.expires_at, decision=DecisionOut.of(decision) if decision else None,
                   ndc=rx.ndc, strength=rx.strength)

    @classmethod
    def outcome(cls, outcome: Outcome) -> PrescriptionOut:
        return cls.of(outcome.prescription, outcome.decision)


class ConfirmationOut(Out):
    number: str = Field(description="R26: the confirmation number")
    state: str = Field(description=f"Confirmation: {STATE}")
    issued_at: datetime = Field(description="When issued")
    expires_at: datetime = Field(description="R27: dispense before this time")

    @classmethod
    def of(cls, c: Confirmation) -> ConfirmationOut:
        return cls(number=c.number, state=c.state, issued_at=c.issued_at, expires_at=c.expires_at)


class DispenseOut(Out):
    id: str = Field(description="Dispense id")
    dispensed_at: datetime = Field(description="When dispensed")
    days_supply: int = Field(description="Days of supply handed over")

    @classmethod
    def of(cls, d: Dispense) -> DispenseOut:
        return cls(id=d.id, dispensed_at=d.dispensed_at, days_supply=d.days_supply)


class PregnancyTestOut(Out):
    id: str = Field(description="Test id")
    patient_id: str = Field(description="Patient id")
    result: str = Field(description="negative or positive")
    collected_at: datetime = Field(description="When collected")
    sensitivity_miu_per_ml: int = Field(description="R10: the lowest hCG level the test detects, in mIU/mL")

    @classmethod
    def of(cls, t: PregnancyTest) -> PregnancyTestOut:
        return cls(id=t.id, patient_id=t.patient_id, result=t.result, collected_at=t.collected_at,
                   sensitivity_miu_per_ml=t.sensitivity_miu_per_ml)


class SurveyOut(Out):
    id: str = Field(description="Survey id")
    completed_at: datetime = Field(description="When completed")
    respondent: str = Field(description="patient or guardian")

    @classmethod
    def of(cls, s: PatientSurvey) -> SurveyOut:
        return cls(id=s.id, completed_at=s.completed_at, respondent=s.respondent)


class AuditEntryOut(Out):
    id: int = Field(description="Position in the append-only log")
    at: datetime = Field(description="When")
    actor: str = Field(description="Who acted (role:id for API callers)")
    trigger: str = Field(description="What happened")
    from_state: str | None = Field(description="State before")
    to_state: str | None = Field(description="State after")
    reasons: list[RequirementOut] = Field(description="Requirements recorded with the change")
    request_id: str | None = Field(description="The request that caused it")

    @classmethod
    def of(cls, a: AuditEntry) -> AuditEntryOut:
        return cls(id=a.id or 0, at=a.at, actor=a.actor, trigger=a.trigger, from_state=a.from_state,
                   to_state=a.to_state, reasons=[RequirementOut(**r) for r in a.reasons],
                   request_id=a.request_id)


class SweepOut(Out):
    confirmations_expired: int = Field(description="R27: confirmations moved to expired")
    authorizations_expired: int = Field(description="R23: authorizations moved to expired")
    skipped_busy: int = Field(description="records another request was changing; the next sweep takes them")
