"""Batch loading for reports: a set of patients with their records in a handful of queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from rems.domain import schedule
from rems.domain.catalogue import UNHELD_PATIENT_STATES
from rems.domain.model import Dispense, Patient, PatientSurvey, Ppaf, PregnancyTest
from rems.services.ports import UnitOfWork
from workflows.program import Parameters, ProgramError

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


def treated_patients(uow: UnitOfWork, states: Sequence[str] = TREATED) -> list[PatientRecords]:
    """Every patient in `states` with PPAFs, tests, surveys and dispenses: five queries in all."""
    patients, ppafs, tests, surveys, dispenses = uow.reports.patients_with_records(states)
    return [PatientRecords(x, ppafs.get(x.id, []), tests.get(x.id, []), surveys.get(x.id, []),
                           dispenses.get(x.id, []))
            for x in patients]
