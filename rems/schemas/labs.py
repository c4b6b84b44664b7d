"""Bodies of the lab results (issue 17 item 1: ALT, AST, ANC, bilirubin; docs/lab-tests.md)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from rems.domain.model import LabResult
from rems.schemas.common import In, Out
from rems.services.commands import Moment
from rems.services.enrollment import labs


class LabResultIn(In):
    # Numbers are strict=False as dates are (In): JSON gives a number or its text, never a Decimal;
    # true/false is still refused.
    analyte: labs.Analyte = Field(description="ALT, AST, ANC or bilirubin (hCG: record a pregnancy test)")
    value: labs.Value = Field(strict=False, description="The value as reported: finite, not negative, at most 6 "
                              "decimals and 15 digits (a JSON number or its text)")
    unit: labs.Unit = Field(description="e.g. U/L, mg/dL, cells/uL")
    collected_at: Moment = Field(strict=False, description="When the sample was collected (ISO 8601 with a zone)")
    upper_limit_normal: labs.Limit | None = Field(
        default=None, strict=False, description="That laboratory's upper limit of normal, in `unit` (> 0); required for "
        "ALT, AST and bilirubin (judged as multiples of it)")
    lower_limit: labs.Value | None = Field(default=None, strict=False,
                                           description="That laboratory's lower limit of normal, in `unit`")
    setting: labs.Setting = Field(default="lab", description="lab, office or home")


class LabResultOut(Out):
    id: str = Field(description="Lab result id")
    patient_id: str = Field(description="Patient id")
    analyte: str = Field(description="ALT, AST, ANC or bilirubin")
    value: Decimal = Field(description="The value as recorded (exact decimal text)")
    unit: str = Field(description="Its unit")
    upper_limit_normal: Decimal | None = Field(description="The result's upper limit of normal")
    lower_limit: Decimal | None = Field(description="The result's lower limit of normal")
    collected_at: datetime = Field(description="When collected")
    recorded_at: datetime = Field(description="When recorded")
    setting: str = Field(description="lab, office or home")

    @classmethod
    def of(cls, r: LabResult) -> LabResultOut:
        return cls(id=r.id, patient_id=r.patient_id, analyte=r.analyte, value=r.value, unit=r.unit,
                   upper_limit_normal=r.upper_limit_normal, lower_limit=r.lower_limit,
                   collected_at=r.collected_at, recorded_at=r.recorded_at, setting=r.setting)
