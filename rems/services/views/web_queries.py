"""The dashboard's lists (issue 18.1, 18.2): paged, searched, filtered and counted in SQL.

Every list is scoped to the signed-in actor in the query itself (R5: a prescriber's own patients;
R25: a pharmacy's own confirmations and dispenses), pages with LIMIT/OFFSET after a stable order,
and says how many rows match in all: no list stops silently at a cap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, case, exists, false, func, or_, select

from rems.adapters import orm
from rems.adapters.uow import UnitOfWork
from rems.domain import schedule
from rems.domain.catalogue import (
    HOLD_PATIENT_STATES,
    ISSUED_PRESCRIPTION_STATES,
    LIVE_PATIENT_STATES,
)
from rems.domain.errors import NotFound
from rems.domain.model import Confirmation, Dispense, Patient, Prescriber, Prescription
from rems.services.context import Context
from rems.services.reminders import due_patients
from rems.services.reminders.reminders import Window
from workflows.definitions import PATIENT

PAGE_SIZES = (25, 50, 100)
MAX_PAGE = 100_000
PATIENT_SORTS = {  # the order users may ask for; id breaks ties so pages never overlap
    "name": (orm.patients.c.name, orm.patients.c.id),
    "-enrolled": (orm.patients.c.enrolled_at.desc(), orm.patients.c.id),
    "enrolled": (orm.patients.c.enrolled_at, orm.patients.c.id),
    "birth_date": (orm.patients.c.birth_date, orm.patients.c.id),
    "state": (orm.patients.c.state, orm.patients.c.name, orm.patients.c.id),
}
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


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _latest_ppaf_category() -> Any:
    p = orm.ppafs.c
    return (select(p.category).where(p.patient_id == orm.patients.c.id)
            .order_by(p.signed_at.desc(), p.id.desc()).limit(1).scalar_subquery())


# -- the prescriber's office (18.2) -----------------------------------------------------------

@dataclass(frozen=True)
class PatientFilter:
    search: str = ""  # part of the name, or the patient id
    state: str = ""  # one of the patient machine's states
    category: str = ""  # R5a: the latest PPAF's category
    sort: str = "name"


def _patient_where(prescriber_id: str, f: PatientFilter) -> list[Any]:
    pt = orm.patients.c
    where: list[Any] = [pt.prescriber_id == prescriber_id]  # R5: only the prescriber's own
    if f.search:
        where.append(or_(func.lower(pt.name).like(_like(f.search), escape="\\"), pt.id == f.search))
    if f.category:
        where.append(_latest_ppaf_category() == f.category)
    return where


def patients_page(uow: UnitOfWork, ctx: Context, prescriber_id: str, f: PatientFilter,
                  paging: Paging) -> Listing:
    """The prescriber's patients matching `f`, one page in the order asked, each row
    (patient, latest PPAF category); `counts` per enrollment state among those matching the
    search and category (the state filter's choices), `total` with the state filter too."""
    pt = orm.patients.c
    where = _patient_where(prescriber_id, f)
    by_state = {state: n for state, n in uow.session.execute(
        select(pt.state, func.count()).where(*where).group_by(pt.state))}
    counts = {state: int(by_state.get(state, 0)) for state in PATIENT.states}
    if f.state:
        where.append(pt.state == f.state)
    total = counts.get(f.state, 0) if f.state else sum(counts.values())
    order = PATIENT_SORTS.get(f.sort, PATIENT_SORTS["name"])
    query = (select(Patient, _latest_ppaf_category().label("ppaf_category")).where(*where)
             .order_by(*order).limit(paging.size).offset(paging.offset))
    rows = [(patient, category) for patient, category in uow.session.execute(query)]
    return Listing(rows, total, paging, counts)


def _long_overdue(uow: UnitOfWork, ctx: Context, lookback: timedelta) -> Any:
    """R11 beyond the reminders' lookback: a treated patient whose latest negative test is older
    than her phase's interval and the lookback (the reminders stop there; the list must not)."""
    pt, t = orm.patients.c, orm.pregnancy_tests.c
    overdue: list[Any] = []
    for program_id, program in uow.programs.items():
        params = schedule.params_at(program, ctx.now)
        for phase, name in _PHASE_INTERVAL.items():
            since = ctx.now - timedelta(days=getattr(params, name)) - lookback
            overdue.append(and_(pt.program_id == program_id, pt.test_phase == phase, ~exists().where(
                t.patient_id == pt.id, t.result == "negative", t.collected_at > since)))
    return or_(false(), *overdue)


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
    pt = orm.patients.c
    mine: set[str] = set()
    for condition in due_patients.among(uow, pt.id, subjects):  # R5: only the prescriber's own
        mine.update(uow.session.scalars(select(pt.id).where(condition, pt.prescriber_id == prescriber_id)))
    return {name: sorted(ids & mine) for name, ids in found.items()}


def _needs_flags(uow: UnitOfWork, ctx: Context, prescriber_id: str, lead_days: int,
                 lookback_days: int) -> dict[str, Any]:
    pt, rx = orm.patients.c, orm.prescriptions.c
    due = due_now(uow, ctx, prescriber_id, lead_days, lookback_days)
    live = pt.state.in_(LIVE_PATIENT_STATES)
    test_overdue = or_(pt.id.in_(due["test_overdue"]),
                       and_(live, _long_overdue(uow, ctx, timedelta(days=lookback_days))))
    flags = {
        "stopped": pt.state == "pregnancy_stop",
        "test_overdue": test_overdue,
        "survey_overdue": pt.id.in_(due["survey_overdue"]),
        "on_hold": pt.state.in_(HOLD_STATES),
        "refused": exists().where(rx.patient_id == pt.id, rx.state == "requested"),
        "expiring": exists().where(rx.patient_id == pt.id, rx.state.in_(OPEN_RX),
                                   rx.expires_at < ctx.now + timedelta(days=lead_days)),
        "test_due": and_(pt.id.in_(due["test_due"]), ~test_overdue),
        "survey_due": pt.id.in_(due["survey_due"]),
    }
    return {name: flags[name] for name in NEEDS}


def needs_action(uow: UnitOfWork, ctx: Context, prescriber_id: str, lead_days: int,
                 paging: Paging, lookback_days: int = 7) -> Listing:
    """The prescriber's patients with something to do (NEEDS), most urgent first, one page; each
    row (patient, [reasons]); `counts` per reason over the whole list."""
    pt = orm.patients.c
    flags = _needs_flags(uow, ctx, prescriber_id, lead_days, lookback_days)
    labelled = [flag.label(name) for name, flag in flags.items()]
    scoped = pt.prescriber_id == prescriber_id  # R5
    anything = or_(*flags.values())
    totals = uow.session.execute(select(func.count(), *(func.sum(_as_int(f)) for f in flags.values()))
                                 .where(scoped, anything)).one()
    counts = {name: int(totals[i + 1] or 0) for i, name in enumerate(flags)}
    urgency = [_as_int(flag).desc() for flag in flags.values()]
    query = (select(Patient, *labelled).where(scoped, anything)
             .order_by(*urgency, pt.name, pt.id).limit(paging.size).offset(paging.offset))
    rows = [(row[0], [name for name in flags if getattr(row, name)])
            for row in uow.session.execute(query)]
    return Listing(rows, int(totals[0]), paging, counts)


def _as_int(flag: Any) -> Any:
    return case((flag, 1), else_=0)


def strengths(uow: UnitOfWork, prescription_ids: list[str]) -> dict[str, str]:
    """Issue 18: the strength ordered on each of these prescriptions that recorded one."""
    if not prescription_ids:
        return {}
    rx = orm.prescriptions.c
    query = select(rx.id, rx.strength).where(rx.id.in_(prescription_ids), rx.strength.is_not(None))
    return {rx_id: strength for rx_id, strength in uow.session.execute(query)}


def patient_history(uow: UnitOfWork, ctx: Context, patient_id: str) -> dict[str, Any]:
    """A patient's tests (R9-R11), surveys (R20) and dispenses (R33), newest first."""
    return {"tests": list(reversed(uow.tests(patient_id))),
            "surveys": list(reversed(uow.patient_surveys(patient_id))),
            "dispenses": list(reversed(uow.dispenses(patient_id)))}


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
    c, rx, pt = orm.confirmations.c, orm.prescriptions.c, orm.patients.c
    query = (select(Confirmation, Prescription, Patient)
             .join(orm.prescriptions, rx.id == c.prescription_id).join(orm.patients, pt.id == rx.patient_id)
             .where(c.pharmacy_id == pharmacy_id, c.state == "issued").order_by(c.expires_at, c.id))
    return [Open(cnf, prescription, patient, cnf.expires_at - ctx.now)
            for cnf, prescription, patient in uow.session.execute(query)]


def dispenses_page(uow: UnitOfWork, ctx: Context, pharmacy_id: str, search: str,
                   paging: Paging) -> Listing:
    """R33: the pharmacy's dispenses, newest first, searched by patient name or id, authorization
    or confirmation number; each row (dispense, prescription, confirmation number, patient)."""
    d, rx, c, pt = orm.dispenses.c, orm.prescriptions.c, orm.confirmations.c, orm.patients.c
    where: list[Any] = [d.pharmacy_id == pharmacy_id]  # R25: only the pharmacy's own
    if search:
        where.append(or_(func.lower(pt.name).like(_like(search), escape="\\"), pt.id == search,
                         rx.number == search, c.number == search))
    joined = (orm.dispenses.join(orm.prescriptions, rx.id == d.prescription_id)
              .join(orm.confirmations, c.id == d.confirmation_id).join(orm.patients, pt.id == d.patient_id))
    total = uow.session.execute(select(func.count()).select_from(joined).where(*where)).scalar_one()
    query = (select(Dispense, Prescription, c.number, Patient).select_from(joined).where(*where)
             .order_by(d.dispensed_at.desc(), d.id).limit(paging.size).offset(paging.offset))
    return Listing([tuple(row) for row in uow.session.execute(query)], int(total), paging)


@dataclass(frozen=True)
class Receipt:
    confirmation: Confirmation
    prescription: Prescription
    patient: Patient
    prescriber: Prescriber
    dispense: Dispense | None


def receipt(uow: UnitOfWork, ctx: Context, pharmacy_id: str, confirmation_number: str) -> Receipt:
    """A confirmation of this pharmacy (another's is not found, R25), with its dispense if any."""
    cnf = uow.confirmation_by_number(confirmation_number)
    if cnf.pharmacy_id != pharmacy_id:
        raise NotFound("confirmation", confirmation_number)
    prescription = uow.get(Prescription, cnf.prescription_id)
    found = [d for d in uow.dispenses(prescription.patient_id) if d.confirmation_id == cnf.id]
    return Receipt(cnf, prescription, uow.get(Patient, prescription.patient_id),
                   uow.get(Prescriber, prescription.prescriber_id), found[0] if found else None)


def authorization_of(uow: UnitOfWork, ctx: Context, number: str) -> tuple[Prescription, Patient, Prescriber]:
    """What the pharmacist verifies at the counter: the authorization, whom and by whom (R22)."""
    prescription = uow.prescription_by_number(number)
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

