"""Lab results other than hCG (issue 17 item 1): recorded by the patient's prescriber, audited,
listed; the gate reads them through rems/services/dispensing/records.py (rems/domain/labs.py judges them)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from rems.domain.errors import InvalidInput
from rems.domain.model import LabResult
from rems.services.commands import Command, Key, Moment, Plain
from rems.services.context import Context
from rems.services.enrollment.patients import owned_patient
from rems.services.enrollment.zones import local_date, zone_of
from rems.services.lifecycle import audit, new_id
from rems.services.ports import UnitOfWork
from rems.services.programs import program_status
from workflows.labs import ANALYTES, SETTINGS, ULN_ANALYTES


def _positional(value: Decimal) -> Decimal:
    """The same number in positional notation ("1E+2" is kept as 100): stored and shown as read."""
    return Decimal(format(value, "f"))


# A lab value as reported: finite, not negative, at most 15 digits of which 6 after the point.
Value = Annotated[Decimal, Field(ge=0, le=Decimal("1e9"), allow_inf_nan=False, max_digits=15, decimal_places=6),
                  AfterValidator(_positional)]
Limit = Annotated[Decimal, Field(gt=0, le=Decimal("1e9"), allow_inf_nan=False, max_digits=15, decimal_places=6),
                  AfterValidator(_positional)]
Analyte = Literal[ANALYTES]  # type: ignore[valid-type]  # workflows.labs.ANALYTES
Setting = Literal[SETTINGS]  # type: ignore[valid-type]
Unit = Annotated[str, Field(min_length=1, max_length=20), Plain]


class RecordLabResult(Command):  # issue 17 item 1
    patient_id: Key
    analyte: Analyte
    value: Value
    unit: Unit
    collected_at: Moment
    upper_limit_normal: Limit | None = None
    lower_limit: Value | None = None
    setting: Setting = "lab"


def record_lab_result(uow: UnitOfWork, ctx: Context, cmd: RecordLabResult,
                      prescriber_id: str | None = None) -> LabResult:
    """One lab result of one of the prescriber's patients (`prescriber_id`: scoped to them), audited."""
    patient = owned_patient(uow, cmd.patient_id, prescriber_id)
    program_status.refuse_if_eliminated(uow, ctx, patient.program_id, "record lab result")  # issue 17 item 4
    if cmd.analyte in ULN_ANALYTES and cmd.upper_limit_normal is None:
        raise InvalidInput("upper_limit_normal", f"required for {cmd.analyte} (judged as multiples of it)")
    if cmd.lower_limit is not None and cmd.upper_limit_normal is not None \
            and cmd.lower_limit >= cmd.upper_limit_normal:
        raise InvalidInput("lower_limit", "must be below upper_limit_normal")
    if cmd.collected_at > ctx.now:
        raise InvalidInput("collected_at", "cannot be in the future")
    if local_date(cmd.collected_at, zone_of(patient, uow.program(patient.program_id))) < patient.birth_date:
        raise InvalidInput("collected_at", "is before the patient's birth date")  # T1: her calendar
    result = LabResult(id=new_id("lab"), recorded_at=ctx.now, **cmd.model_dump())
    uow.add(result)
    audit(uow, ctx, "lab_result", result.id, "record", None, "recorded",
          refs={"patient": patient.id})
    uow.commit()
    return result


def lab_results(uow: UnitOfWork, ctx: Context, patient_id: str,
                prescriber_id: str | None = None) -> Sequence[LabResult]:
    """The patient's lab results in collection order (`prescriber_id`: only one of theirs)."""
    owned_patient(uow, patient_id, prescriber_id, lock=False)
    return uow.patients.lab_results(patient_id)
