"""Batch loading for reports: a set of patients with their records in a handful of queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, select

from rems.adapters import orm
from rems.adapters.uow import UnitOfWork
from rems.domain import schedule
from rems.domain.catalogue import UNHELD_PATIENT_STATES
from rems.domain.model import Dispense, Patient, PatientSurvey, Ppaf, PregnancyTest
from workflows.program import Parameters, ProgramError

T = TypeVar("T")
# R11 testing continues through dose interruptions; a patient on hold or stopped is not dispensed.
TREATED = UNHELD_PATIENT_STATES  # treated and not on hold: the states a hold (R12) applies to


def params_at(uow: UnitOfWork, program_id: str, at: datetime) -> Parameters | None:
    """The program's parameters at `at`; None before it was in force (nothing is overdue then)."""
    try:
        return schedule.params_at(uow.program(program_id), at)  # T3: the program's midnight
    except ProgramError:
        return None


@dataclass
class PatientRecords:
    patient: Patient
    ppafs: list[Ppaf] = field(default_factory=list)
    tests: list[PregnancyTest] = field(default_factory=list)
    surveys: list[PatientSurvey] = field(default_factory=list)
    dispenses: list[Dispense] = field(default_factory=list)


def _grouped(uow: UnitOfWork, cls: type[T], query: Select[Any], order: Any) -> dict[str, list[T]]:
    out: dict[str, list[T]] = defaultdict(list)
    for row in uow.session.scalars(query.order_by(order)):
        out[row.patient_id].append(row)
    return out


def treated_patients(uow: UnitOfWork, states: Sequence[str] = TREATED) -> list[PatientRecords]:
    """Every patient in `states` with PPAFs, tests, surveys and dispenses: five queries in all."""
    p = orm.patients.c
    ids = select(p.id).where(p.state.in_(states)).scalar_subquery()
    patients = uow.session.scalars(select(Patient).where(p.state.in_(states)).order_by(p.id)).all()
    ppafs = _grouped(uow, Ppaf, select(Ppaf).where(orm.ppafs.c.patient_id.in_(ids)),
                     orm.ppafs.c.signed_at)
    tests = _grouped(uow, PregnancyTest,
                     select(PregnancyTest).where(orm.pregnancy_tests.c.patient_id.in_(ids)),
                     orm.pregnancy_tests.c.collected_at)
    surveys = _grouped(uow, PatientSurvey,
                       select(PatientSurvey).where(orm.patient_surveys.c.patient_id.in_(ids)),
                       orm.patient_surveys.c.completed_at)
    dispenses = _grouped(uow, Dispense, select(Dispense).where(orm.dispenses.c.patient_id.in_(ids)),
                         orm.dispenses.c.dispensed_at)
    return [PatientRecords(x, ppafs[x.id], tests[x.id], surveys[x.id], dispenses[x.id])
            for x in patients]
