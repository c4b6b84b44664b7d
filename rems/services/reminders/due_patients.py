"""Due items on patients (R8, R9, R11, R20, R28): window queries, then rems.domain.schedule.

Each query (rems/adapters/due.py, through uow.due) selects candidates whose anchor (last test,
last survey, last dispense, birth date) puts the due date inside the window for one of the program
intervals, through a range on an indexed column; the exact due date then comes from the domain
functions the gate uses, on the candidates' records loaded in a few IN queries. The latest test,
survey and dispense of each patient are kept on write in `patient_latest` (migration 0014, issue
14 item 6), so no query steps over a patient's older history to find them; with the patient's
program (migration 0021), so R28's ranges are each program's own (_offsets)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from rems.domain import labs, schedule
from rems.domain.calendar import local_date
from rems.domain.catalogue import (
    TREATED_TESTING_STATES,
    PatientState,
)
from rems.domain.categories import FRP_CATEGORIES, add_months, category_of, next_category_change
from rems.domain.model import Patient
from rems.services.ports import UnitOfWork
from rems.services.ports.due import Bundle
from rems.services.reminders.notifications import Reminder
from rems.services.reminders.reminders import LIVE_PATIENT_STATES, Window
from workflows.program import Parameters

TREATED_PHASES = TREATED_TESTING_STATES  # R11; before treatment R9 runs from the Rx


def _live(bundles: Iterable[Bundle], states: tuple[str, ...]) -> list[Bundle]:
    """The candidates in `states`, judged on the rows loaded anyway: a join with patients in the
    candidate query makes PostgreSQL hash the whole patients table, which grows with the
    population, while the candidates grow only with what is due."""
    return [b for b in bundles if b.patient.state in states]


def _all_params(uow: UnitOfWork, w: Window) -> list[Parameters]:
    return [schedule.params_at(program, w.now) for program in uow.programs.values()]


def _params(uow: UnitOfWork, patient: Patient, w: Window) -> Parameters:
    """T3: the parameters in force at w.now of the patient's program, once per program and pass."""
    memo: dict[tuple[str, datetime], Parameters] = uow.due.memo("params")
    key = (patient.program_id, w.now)
    if key not in memo:
        memo[key] = schedule.params_at(uow.program(patient.program_id), w.now)
    return memo[key]


def _category(uow: UnitOfWork, patient: Patient, w: Window) -> str:
    """schedule.current_category, on the parameters of _params: the category on the patient's date."""
    return category_of(patient, local_date(w.now, _tz(uow, patient)), _params(uow, patient, w))


def _tz(uow: UnitOfWork, patient: Patient) -> str:
    return schedule.patient_tz(patient, uow.program(patient.program_id))


def pregnancy_tests(uow: UnitOfWork, w: Window) -> list[Reminder]:
    """R11 (after R9's initial pair): the next test per the cadence, coming due, due, overdue."""
    programs = [(program_id, schedule.params_at(program, w.now)) for program_id, program in uow.programs.items()]
    threshold = max(p.test_detection_threshold_miu_per_ml for _, p in programs)
    out = []
    candidates = uow.due.tested(w, programs, LIVE_PATIENT_STATES, TREATED_PHASES, threshold)
    for b in uow.due.load(candidates, "tests", "ppafs", "dispenses"):
        params = _params(uow, b.patient, w)
        if _category(uow, b.patient, w) not in FRP_CATEGORIES:
            continue
        due = schedule.test_due(b.tests, b.ppafs, b.dispenses, b.patient.cycles_regular, params)
        day = None if due is None else local_date(due, _tz(uow, b.patient))  # T1: the patient's date
        if day is not None and w.holds(day):
            out.append(Reminder(f"patient:{b.patient.id}", f"pregnancy_test_{w.stage(day)}",
                                b.patient.id, day, "R11"))
    return out


def lab_tests(uow: UnitOfWork, w: Window) -> list[Reminder]:
    """Lab tests other than hCG (issue 17: ALT, AST, ANC), coming due, due, overdue: the last local
    date on which each analyte's latest result is still current, from the program's own block
    (rems.domain.labs.next_lab_due, as the status page reads it). Candidates are the live patients
    of the programs that declare such a test today (no such program, no query)."""
    declaring = {pid: specs for pid, program in uow.programs.items()
                 if (specs := [s for s in program.requirements_on(w.now)
                               if s.kind == "lab_test" and s.options["analyte"] != "hCG"])}
    if not declaring:
        return []
    ids = uow.due.in_programs(sorted(declaring), LIVE_PATIENT_STATES)
    results = uow.due.lab_results(ids)
    out = []
    for b in uow.due.load(ids, "dispenses"):
        category, tz = _category(uow, b.patient, w), _tz(uow, b.patient)
        for spec in declaring[b.patient.program_id]:
            if not spec.applies(category):
                continue
            day = labs.next_lab_due(spec.options["lab_rule"], results.get(b.patient.id, []),
                                    labs.treatment_start_of(b.dispenses), w.now, tz)
            if w.holds(day):
                out.append(Reminder(f"patient:{b.patient.id}", f"lab_test_{w.stage(day)}", b.patient.id,
                                    day, spec.rule))
    return out


def patient_surveys(uow: UnitOfWork, w: Window) -> list[Reminder]:
    """R20: the patient survey coming due, due, overdue (schedule.survey_due: one survey for each
    prescription, needed by the day the next one can be dispensed)."""
    intervals = {r.interval_days for p in _all_params(uow, w) for r in p.survey.values()}
    # A survey counts to the end of a local date (T1): a day either side covers every zone.
    around = {days + shift for days in intervals for shift in (-1, 0, 1)}
    out = []
    for b in _live(uow.due.load(uow.due.surveyed(w, around, _offsets(uow, w)), "surveys", "dispenses"),
                   LIVE_PATIENT_STATES):
        params, category = _params(uow, b.patient, w), _category(uow, b.patient, w)
        tz, window_days = _tz(uow, b.patient), params.refill_window_days
        # survey_due reads of the dispenses only the latest (which still_counting always keeps)
        # and R28's opening, computed once per pass on the ones still counting (_refill_opens).
        due = schedule.survey_due(params.survey[category], category, b.surveys, b.dispenses, tz, window_days,
                                  partial(_refill_opens, uow, b, window_days, tz))
        day = None if due is None or due == schedule.OVERDUE else local_date(due, tz)
        if day is not None and w.holds(day):
            out.append(Reminder(f"patient:{b.patient.id}", f"patient_survey_{w.stage(day)}",
                                b.patient.id, day, "R20"))
    return out


def _supply_offsets(params: Parameters) -> list[tuple[int, int]]:
    """(days_supply, days from a dispense of that supply until R28's window can open at the earliest)."""
    return [(supply, supply - params.refill_window_days) for supply in range(1, params.max_supply_days + 1)]


def _offsets(uow: UnitOfWork, w: Window) -> list[tuple[str, list[tuple[int, int]]]]:
    """R28's supply offsets of each program, its own (migration 0021: the candidate queries range
    each program's patients by them; before, every program's ranges applied to every patient)."""
    return [(program_id, _supply_offsets(schedule.params_at(program, w.now)))
            for program_id, program in sorted(uow.programs.items())]


def still_counting(dispenses: list[Any], window_days: int) -> list[Any]:
    """The dispenses that can move R28's opening (ordered by dispensed_at): when the latest alone
    holds more than the window, the opening comes after it, and an earlier dispense used up (its
    supply and a day past) by the latest one adds nothing on hand from then on; leaving those
    out keeps `schedule.refill_opens` from stepping through a patient's whole history."""
    if not dispenses or dispenses[-1].days_supply <= window_days:
        return dispenses
    latest = dispenses[-1].dispensed_at
    return [d for d in dispenses if d.dispensed_at + timedelta(days=d.days_supply + 1) > latest]


def _refill_opens(uow: UnitOfWork, b: Bundle, window_days: int, tz: str) -> datetime | None:
    """R28's opening for a candidate (schedule.refill_opens on the dispenses still counting),
    computed once per find_due pass: the survey finder (R20, once a dispense follows the last
    survey) and the refill finder need the same one for most of their candidates."""
    memo: dict[tuple[str, int, str], datetime | None] = uow.due.memo("refill_opens")
    key = (b.patient.id, window_days, tz)
    if key not in memo:
        memo[key] = schedule.refill_opens(still_counting(b.dispenses, window_days), window_days, tz)
    return memo[key]


def refill_windows(uow: UnitOfWork, w: Window) -> list[Reminder]:
    """R28: the window for the next dispense opened (at most N days of supply left), remind once
    it has opened, within the lookback."""
    out = []
    for b in _live(uow.due.load(uow.due.refilled(w, _offsets(uow, w)), "dispenses"), (PatientState.ACTIVE,)):
        last = b.dispenses[-1]
        tz = _tz(uow, b.patient)
        window_days = _params(uow, b.patient, w).refill_window_days
        opens = _refill_opens(uow, b, window_days, tz)
        if opens is not None and w.start <= opens <= w.now:
            out.append(Reminder(f"patient:{b.patient.id}", "refill_window_open", last.id,
                                local_date(opens, tz), "R28"))
    return out


def new_ppafs(uow: UnitOfWork, w: Window) -> list[Reminder]:
    """R8: a category change by the calendar (18th birthday, 24 months postmenopausal) within the
    window, while the latest PPAF is for another category: the prescriber signs a new one."""
    all_params = _all_params(uow, w)
    births = [(_years_before(w.first, p.child_age_years) - timedelta(days=1),
               _years_before(w.last, p.child_age_years) + timedelta(days=1)) for p in all_params]
    menopause = [(add_months(w.first, -p.postmenopause_months) - timedelta(days=3),
                  add_months(w.last, -p.postmenopause_months) + timedelta(days=3)) for p in all_params]
    out = []
    candidates = uow.due.born_or_postmenopausal(births, menopause, (*LIVE_PATIENT_STATES, PatientState.PENDING))
    for b in uow.due.load(candidates, "ppafs"):
        params = _params(uow, b.patient, w)
        change = next_category_change(b.patient, w.first - timedelta(days=1), params)
        latest = b.ppafs[-1].category if b.ppafs else None
        if change is not None and w.holds(change) and latest != category_of(b.patient, change, params):
            out.append(Reminder(f"prescriber:{b.patient.prescriber_id}", "ppaf_needed", b.patient.id, change, "R8"))
    return out


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)
