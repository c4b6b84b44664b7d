"""Bodies of the person's use cases: transfer and readmission (R34), fact corrections (R35), the
patient's time zone (T1)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from rems.domain.model import Patient, ReadmissionDecision
from rems.schemas.common import Id, In, Out
from rems.schemas.inputs import ReproductiveFactsIn
from rems.schemas.outputs import PatientOut
from rems.services.commands import Key, Reason, Zone
from rems.services.enrollment.persons import Transfer

WHY = "Why (kept in the audit trail; no names)"


class TransferIn(In):
    to_prescriber_id: Id = Field(description="The new prescriber, certified in the patient's program")


class TransferOut(Out):
    patient: PatientOut = Field(description="The same record, now with its new prescriber")
    from_prescriber_id: str = Field(description="The previous prescriber")
    voided_authorizations: int = Field(description="The previous prescriber's open authorizations, voided")

    @classmethod
    def of(cls, t: Transfer) -> TransferOut:
        return cls(patient=PatientOut.of(t.patient), from_prescriber_id=t.from_prescriber_id,
                   voided_authorizations=t.voided_authorizations)


class ReadmissionIn(In):
    program_id: Key | None = Field(default=None, description="Program of the new enrollment (default: this one's)")
    reason: Reason = Field(description=WHY)


class ReadmissionOut(Out):
    id: str = Field(description="Decision id")
    person_id: str = Field(description="The person it admits again")
    program_id: str = Field(description="The program")
    decided_by: str = Field(description="Who decided")
    decided_at: datetime = Field(description="When (UTC)")

    @classmethod
    def of(cls, d: ReadmissionDecision) -> ReadmissionOut:
        return cls(id=d.id, person_id=d.person_id, program_id=d.program_id, decided_by=d.decided_by,
                   decided_at=d.decided_at)


class CorrectFactsIn(In):
    facts: ReproductiveFactsIn = Field(description="R35: the corrected facts, every one stated")
    reason: Reason = Field(description=WHY)


class TimeZoneIn(In):
    time_zone: Zone = Field(description="T1: IANA zone, e.g. America/Chicago")


class TimeZoneOut(Out):
    id: str = Field(description="Patient id")
    time_zone: str = Field(description="T1: the patient's IANA time zone")

    @classmethod
    def of(cls, p: Patient) -> TimeZoneOut:
        return cls(id=p.id, time_zone=p.time_zone or "")
