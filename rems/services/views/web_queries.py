"""The dashboard's lists (issue 18.1, 18.2): paged, searched, filtered and counted in SQL (the
queries: rems/adapters/views.py, through uow.views).

Every list is scoped to the signed-in actor in the query itself (R5: a prescriber's own patients;
R25: a pharmacy's own confirmations and dispenses), pages with LIMIT/OFFSET after a stable order,
and says how many rows match in all: no list stops silently at a cap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rems.domain import schedule
from rems.domain.catalogue import (
    HOLD_PATIENT_STATES,
    ISSUED_PRESCRIPTION_STATES,
    LIVE_PATIENT_STATES,
)
from rems.domain.errors import NotFound
from rems.domain.model import Confirmation, Dispense, Patient, Prescriber, Prescription
from rems.services.context import Context
from rems.services.ports import UnitOfWork
from rems.services.reminders import due_patients
from rems.services.reminders.reminders import Window
from workflows.definitions import PATIENT

PAGE_SIZES = (25, 50, 100)
MAX_PAGE = 100_000
# The orders users may ask for (their columns: rems.adapters.views.PATIENT_SORTS; id breaks ties).
PATIENT_SORTS = ("name", "-enrolled", "enrolled", "birth_date", "state")
HOLD_STATES = HOLD_PATIENT_STATES  # R12
OPEN_RX = ISSUED_PRESCRIPTION_STATES  # R23: an issued authorization not yet dispensed
# R11: the interval that the pregnancy-testing phase names, from the program's parameters.
_PHASE_INTERVAL = {"weekly": "weekly_test_interval_days",
                   "every_4_weeks": "regular_cycle_test_interval_days",
                   "every_2_weeks": "irregular_cycle_test_interval_days"}
NEEDS = {  # why a patient is on the "needs action" list, the most urgent first (the list's order)
    "stopped": "Pregnancy reported: therapy stopped (R30)",
    "test_overdue": "Pregnancy test overdue (R11)",
    "survey_overdue": "Patient survey overdue (R20)",
    "on_hold": "On hold until a new negative pregnancy test (R12)",
    "refused": "Authorization not issued: refused or waiting for your survey (R19)",
    "expiring": "Authorization expires soon or has expired (R23)",
    "test_due": "Pregnancy test due soon (R11)",
    "survey_due": "Patient survey due soon (R20)",
}
# The reminders' kinds (rems.services.reminders.due_patients) each reason above is read from.
_DUE_KINDS = {"pregnancy_test_": ("test_due", "test_overdue"), "patient_survey_": ("survey_due", "survey_overdue")}


@dataclass(frozen=True)
class Paging:
    page: int = 1
    size: int = PAGE_SIZES[0]

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


@dataclass
class Listing:
    """One page of a list: its rows, how many match in all, and the page asked for."""

    rows: list[Any]
    total: int
    paging: Paging
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.paging.size))

    @property
    def first(self) -> int:
        return min(self.total, self.paging.offset + 1)

    @property
    def last(self) -> int:
        return min(self.total, self.paging.offset + len(self.rows))


# -- the prescriber's office (18.2) -----------------------------------------------------------

@dataclass(frozen=True)
class PatientFilter:
    search: str = ""  # part of the name, or the patient id
    state: str = ""  # one of the patient machine's states
    category: str = ""  # R5a: the latest PPAF's category
    sort: str = "name"


def patients_page(uow: UnitOfWork, ctx: Context, prescriber_id: str, f: PatientFilter,
                  paging: Paging) -> Listing:
    """The prescriber's patients matching `f`, one page in the order asked, each row
    (patient, latest PPAF category); `counts` per enrollment state among those matching the
    search and category (the state filter's choices), `total` with the state filter too."""
    rows, counts = uow.views.patients_page(prescriber_id, f.search, f.category, f.state, f.sort,
                                           PATIENT.states, paging.size, paging.offset)
    total = counts.get(f.state, 0) if f.state else sum(counts.values())
    return Listing(list(rows), total, paging, counts)


def _long_overdue(uow: UnitOfWork, ctx: Context, lookback: timedelta) -> list[tuple[str, str, datetime]]:
    """R11 beyond the reminders' lookback: a treated patient whose latest negative test is older
    than her phase's interval and the lookback (the reminders stop there; the list must not):
    (program, phase, the instant her latest negative test must follow)."""
    overdue: list[tuple[str, str, datetime]] = []
    for program_id, program in uow.programs.items():
        params = schedule.params_at(program, ctx.now)
        for phase, name in _PHASE_INTERVAL.items():
            since = ctx.now - timedelta(days=getattr(params, name)) - lookback
            overdue.append((program_id, phase, since))
    return overdue


def due_now(uow: UnitOfWork, ctx: Context, prescriber_id: str, lead_days: int,
            lookback_days: int) -> dict[str, list[str]]:
    """R11, R20: this prescriber's patients with a pregnancy test or a patient survey due soon
    (within `lead_days`, or today) or overdue (within `lookback_days`), exactly as the reminder
    sweep finds them (rems.services.reminders.due_patients, the due dates of rems.domain.schedule)."""
    w = Window(ctx.now, lead_days, lookback_days)
    found: dict[str, set[str]] = {name: set() for pair in _DUE_KINDS.values() for name in pair}
    for reminder in [*due_patients.pregnancy_tests(uow, w), *due_patients.patient_surveys(uow, w)]:
        for prefix, (due, overdue) in _DUE_KINDS.items():
            if reminder.kind.startswith(prefix):
                found[overdue if reminder.kind.endswith("_overdue") else due].add(reminder.subject)
    subjects = sorted(set().union(*found.values()))
    mine = uow.views.of_prescriber(prescriber_id, subjects)  # R5: only the prescriber's own
    return {name: sorted(ids & mine) for name, ids in found.items()}


def needs_action(uow: UnitOfWork, ctx: Context, prescriber_id: str, lead_days: int,
                 paging: Paging, lookback_days: int = 7) -> Listing:
    """The prescriber's patients with something to do (NEEDS), most urgent first, one page; each
    row (patient, [reasons]); `counts` per reason over the whole list."""
    due = due_now(uow, ctx, prescriber_id, lead_days, lookback_days)
    rows, total, counts = uow.views.needs_action(
        prescriber_id, ctx.now, lead_days, due, _long_overdue(uow, ctx, timedelta(days=lookback_days)),
        LIVE_PATIENT_STATES, HOLD_STATES, OPEN_RX, list(NEEDS), paging.size, paging.offset)
    return Listing(list(rows), total, paging, counts)


def strengths(uow: UnitOfWork, prescription_ids: list[str]) -> dict[str, str]:
    """Issue 18: the strength ordered on each of these prescriptions that recorded one."""
    if not prescription_ids:
        return {}
    return uow.views.strengths(prescription_ids)


def patient_history(uow: UnitOfWork, ctx: Context, patient_id: str) -> dict[str, Any]:
    """A patient's tests (R9-R11), surveys (R20) and dispenses (R33), newest first."""
    return {"tests": list(reversed(uow.patients.tests(patient_id))),
            "surveys": list(reversed(uow.patients.surveys(patient_id))),
            "dispenses": list(reversed(uow.patients.dispenses(patient_id)))}


# -- the pharmacy (18.1) ----------------------------------------------------------------------

@dataclass(frozen=True)
class Open:
    """An open confirmation of the pharmacy with what it was issued for."""

    confirmation: Confirmation
    prescription: Prescription
    patient: Patient
    left: timedelta  # until R27's window closes (negative: closed, not yet swept)


def worklist(uow: UnitOfWork, ctx: Context, pharmacy_id: str) -> list[Open]:
    """R26, R27: the pharmacy's live confirmations, the soonest to expire first."""
    return [Open(cnf, prescription, patient, cnf.expires_at - ctx.now)
            for cnf, prescription, patient in uow.views.worklist(pharmacy_id)]


def dispenses_page(uow: UnitOfWork, ctx: Context, pharmacy_id: str, search: str,
                   paging: Paging) -> Listing:
    """R33: the pharmacy's dispenses, newest first, searched by patient name or id, authorization
    or confirmation number; each row (dispense, prescription, confirmation number, patient)."""
    rows, total = uow.views.dispenses_page(pharmacy_id, search, paging.size, paging.offset)
    return Listing(list(rows), total, paging)


@dataclass(frozen=True)
class Receipt:
    confirmation: Confirmation
    prescription: Prescription
    patient: Patient
    prescriber: Prescriber
    dispense: Dispense | None


def receipt(uow: UnitOfWork, ctx: Context, pharmacy_id: str, confirmation_number: str) -> Receipt:
    """A confirmation of this pharmacy (another's is not found, R25), with its dispense if any."""
    cnf = uow.confirmations.by_number(confirmation_number)
    if cnf.pharmacy_id != pharmacy_id:
        raise NotFound("confirmation", confirmation_number)
    prescription = uow.get(Prescription, cnf.prescription_id)
    found = [d for d in uow.patients.dispenses(prescription.patient_id) if d.confirmation_id == cnf.id]
    return Receipt(cnf, prescription, uow.get(Patient, prescription.patient_id),
                   uow.get(Prescriber, prescription.prescriber_id), found[0] if found else None)


def authorization_of(uow: UnitOfWork, ctx: Context, number: str) -> tuple[Prescription, Patient, Prescriber]:
    """What the pharmacist verifies at the counter: the authorization, whom and by whom (R22)."""
    prescription = uow.prescriptions.by_number(number)
    return (prescription, uow.get(Patient, prescription.patient_id),
            uow.get(Prescriber, prescription.prescriber_id))


def clamp(page: int, size: int) -> Paging:
    """A page asked in the address: sizes from PAGE_SIZES, pages from 1."""
    return Paging(min(max(page, 1), MAX_PAGE), size if size in PAGE_SIZES else PAGE_SIZES[0])


def paging_of(page: str, size: str = "") -> Paging:
    """The page and size as an address gives them (text): anything but digits is the default."""
    def number(value: str, default: int) -> int:
        return int(value) if value.isdigit() and len(value) < 7 else default
    return clamp(number(page, 1), number(size, PAGE_SIZES[0]))

