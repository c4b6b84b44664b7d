"""Due items on patients (R8, R9, R11, R20, R28): window queries, then rems.domain.schedule.

Each query selects candidates whose anchor (last test, last survey, last dispense, birth date)
puts the due date inside the window for one of the program intervals, through a range on an
indexed column; the exact due date then comes from the domain functions the gate uses, on the
candidates' records loaded in a few IN queries. The latest test, survey and dispense of each
patient are kept on write in `patient_latest` (migration 0014, issue 14 item 6), so no query steps
over a patient's older history to find them; with the patient's program (migration 0021), so R28's
ranges are each program's own (_per_program)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import String, and_, any_, bindparam, false, or_, select
from sqlalchemy.dialects import postgresql

from rems.adapters import orm
from rems.adapters.uow import UnitOfWork
from rems.domain import labs, schedule
from rems.domain.calendar import local_date
from rems.domain.catalogue import (
    TREATED_TESTING_STATES,
    PatientState,
)
from rems.domain.categories import FRP_CATEGORIES, add_months, category_of, next_category_change
from rems.domain.model import Patient
from rems.services.reminders.notifications import Reminder
from rems.services.reminders.reminders import LIVE_PATIENT_STATES, Window
from workflows.program import Parameters

TREATED_PHASES = TREATED_TESTING_STATES  # R11; before treatment R9 runs from the Rx


@dataclass
class Bundle:
    """A candidate's records as read-only rows (Core selects, no ORM entity loads): each row reads
    like the model object (same attribute names), which is all the domain functions use."""

    patient: Any  # a patients row, read as Patient
    tests: list[Any] = field(default_factory=list)  # pregnancy_tests rows, read as PregnancyTest
    ppafs: list[Any] = field(default_factory=list)  # ppafs rows, read as Ppaf
    surveys: list[Any] = field(default_factory=list)  # patient_surveys rows, read as PatientSurvey
    dispenses: list[Any] = field(default_factory=list)  # dispenses rows, read as Dispense


def among(uow: UnitOfWork, column: Any, ids: list[str]) -> list[Any]:
    """column IN ids, as few conditions as the database takes: one array parameter on PostgreSQL
    (= ANY), chunks of 500 placeholders on SQLite (its bound-parameter limit)."""
    if uow.session.get_bind().dialect.name == "postgresql":
        return [column == any_(bindparam(None, ids[start:start + 50_000], type_=postgresql.ARRAY(String)))
                for start in range(0, len(ids), 50_000)]
    return [column.in_(ids[start:start + 500]) for start in range(0, len(ids), 500)]


_D = orm.dispenses.c
# (kind, table, the columns read, order). Of a dispense the finders read only when and how much
# (R28, R11's treatment start) and its id (R28's subject): fewer columns, less to convert per row.
_RELATED: tuple[tuple[str, Any, tuple[Any, ...], Any], ...] = (
    ("tests", orm.pregnancy_tests, (orm.pregnancy_tests,), orm.pregnancy_tests.c.collected_at),
    ("ppafs", orm.ppafs, (orm.ppafs,), orm.ppafs.c.signed_at),
    ("surveys", orm.patient_surveys, (orm.patient_surveys,), orm.patient_surveys.c.completed_at),
    ("dispenses", orm.dispenses, (_D.id, _D.patient_id, _D.dispensed_at, _D.days_supply), _D.dispensed_at))
_KINDS = ("tests", "ppafs", "surveys", "dispenses")  # Bundle's fields after the patient, in order


CACHE = "rems.due_patients.loaded"  # Session.info key: rows read once per find_due (see sharing)


@contextmanager
def sharing(uow: UnitOfWork) -> Iterator[None]:
    """Within one pass of the finders (rems.services.reminders.reminders.find_due, one read transaction),
    a patient's row and records are read once: the survey and refill finders, for instance, both
    need the same candidates' dispenses. Outside it every _load reads afresh."""
    uow.session.info[CACHE] = {}
    try:
        yield
    finally:
        uow.session.info.pop(CACHE, None)


def _load(uow: UnitOfWork, patient_ids: Iterable[str], *wanted: str) -> list[Bundle]:
    """The candidates' rows and, of their records, the `wanted` kinds ("tests", "ppafs",
    "surveys", "dispenses": only what the finder reads), one query per table (per chunk), each
    ordered as the gate wants; within `sharing`, only what an earlier finder did not read."""
    ids = sorted(set(patient_ids))
    cache: dict[str, dict[str, Any]] = uow.session.info.get(CACHE, {})
    patients = cache.setdefault("patients", {})
    missing = [i for i in ids if i not in patients]
    for condition in among(uow, orm.patients.c.id, missing):
        for p in uow.session.execute(select(orm.patients).where(condition)).all():
            patients[p.id] = p
    for i in missing:
        patients.setdefault(i, None)  # no such patient: not asked again
    found = [i for i in ids if patients[i] is not None]
    for attr, table, columns, order in _RELATED:
        if attr not in wanted:
            continue
        rows = cache.setdefault(attr, {})
        missing = [i for i in found if i not in rows]
        for i in missing:
            rows[i] = []
        for condition in among(uow, table.c.patient_id, missing):
            for row in uow.session.execute(select(*columns).where(condition).order_by(order, table.c.id)).all():
                rows[row.patient_id].append(row)
    return [Bundle(patients[i], *(cache[attr][i] if attr in wanted else [] for attr in _KINDS)) for i in found]


def _live(bundles: list[Bundle], states: tuple[str, ...]) -> list[Bundle]:
    """The candidates in `states`, judged on the rows loaded anyway: a join with patients in the
    candidate query makes PostgreSQL hash the whole patients table, which grows with the
    population, while the candidates grow only with what is due."""
    return [b for b in bundles if b.patient.state in states]


def _all_params(uow: UnitOfWork, w: Window) -> list[Parameters]:
    return [schedule.params_at(program, w.now) for program in uow.programs.values()]


def _params(uow: UnitOfWork, patient: Patient, w: Window) -> Parameters:
    """T3: the parameters in force at w.now of the patient's program, once per program and pass."""
    memo: dict[tuple[str, datetime], Parameters] = uow.session.info.get(CACHE, {}).setdefault("params", {})
    key = (patient.program_id, w.now)
    if key not in memo:
        memo[key] = schedule.params_at(uow.program(patient.program_id), w.now)
    return memo[key]


def _category(uow: UnitOfWork, patient: Patient, w: Window) -> str:
    """schedule.current_category, on the parameters of _params: the category on the patient's date."""
    return category_of(patient, local_date(w.now, _tz(uow, patient)), _params(uow, patient, w))


def _tz(uow: UnitOfWork, patient: Patient) -> str:
    return schedule.patient_tz(patient, uow.program(patient.program_id))


def _anchored(column: Any, w: Window, intervals: Iterable[int]) -> Any:
    """column + interval falls inside the window, for one of the intervals (in days)."""
    return or_(false(), *(and_(column >= w.start - timedelta(days=days), column < w.end - timedelta(days=days))
                          for days in sorted(set(intervals))))


def _candidates(uow: UnitOfWork, query: Any) -> list[str]:
    return list(dict.fromkeys(uow.session.scalars(query)))


def _test_cadences(w: Window, programs: list[tuple[str, Parameters]]) -> Any:
    """Per program: the latest negative test puts the next one in the window under the cadence
    that can apply to the patient (R11): weekly only while treatment began less than the weekly
    phase before the window (no older dispense), then every 4 weeks for regular cycles, 2 for
    irregular. On patient_latest (migration 0014): its dates are the history's latest and first."""
    lt, pt = orm.patient_latest.c, orm.patients.c
    cadences = []
    for program_id, p in programs:
        weekly_since = w.start - timedelta(days=p.weekly_test_interval_days + 7 * p.weekly_test_weeks)
        cadences.append(and_(pt.program_id == program_id, or_(
            and_(_anchored(lt.last_negative_test_at, w, [p.weekly_test_interval_days]),
                 or_(lt.first_dispense_at.is_(None), lt.first_dispense_at >= weekly_since)),
            and_(_anchored(lt.last_negative_test_at, w, [p.regular_cycle_test_interval_days]), pt.cycles_regular),
            and_(_anchored(lt.last_negative_test_at, w, [p.irregular_cycle_test_interval_days]),
                 ~pt.cycles_regular))))
    return or_(false(), *cadences)


def pregnancy_tests(uow: UnitOfWork, w: Window) -> list[Reminder]:
    """R11 (after R9's initial pair): the next test per the cadence, coming due, due, overdue."""
    programs = [(program_id, schedule.params_at(program, w.now)) for program_id, program in uow.programs.items()]
    lt, pt = orm.patient_latest.c, orm.patients.c
    threshold = max(p.test_detection_threshold_miu_per_ml for _, p in programs)
    # A candidate's latest negative test anchors the window; a latest one too insensitive to
    # qualify (R9) leaves the anchor to an earlier one, so such patients are candidates anyway
    # (schedule.test_due decides, on all their tests).
    live = (pt.state.in_(LIVE_PATIENT_STATES), pt.test_phase.in_(TREATED_PHASES))
    anchored = select(lt.patient_id).join(orm.patients, pt.id == lt.patient_id).where(
        _test_cadences(w, programs), *live)
    insensitive = select(lt.patient_id).join(orm.patients, pt.id == lt.patient_id).where(
        lt.last_negative_sensitivity > threshold, *live)
    out = []
    for b in _load(uow, _candidates(uow, anchored) + _candidates(uow, insensitive), "tests", "ppafs", "dispenses"):
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
    pt = orm.patients.c
    ids = _candidates(uow, select(pt.id).where(pt.program_id.in_(sorted(declaring)),
                                               pt.state.in_(LIVE_PATIENT_STATES)))
    results: dict[str, list[Any]] = {}
    for condition in among(uow, orm.lab_results.c.patient_id, ids):
        query = select(orm.lab_results).where(condition).order_by(orm.lab_results.c.collected_at)
        for row in uow.session.execute(query).all():
            results.setdefault(row.patient_id, []).append(row)
    out = []
    for b in _load(uow, ids, "dispenses"):
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
    lt = orm.patient_latest.c  # migrations 0014, 0021: each patient's latest survey and dispense, program
    # A survey counts to the end of a local date (T1): a day either side covers every zone.
    around = {days + shift for days in intervals for shift in (-1, 0, 1)}
    by_survey = select(lt.patient_id).where(_anchored(lt.last_survey_at, w, around))
    # Once a dispense follows the last survey, the next survey is due when the next dispense may
    # be made (R28's window opens): select on that date, one range per days_supply on the
    # (program_id, days_supply, dispensed_at) index, each program's own (as refill_windows), for
    # latest dispenses with no survey after them. The window opens at least `supply -
    # refill_window_days` days after the latest dispense and at most its supply and a day after
    # it; a day either side covers every zone.
    ranges = _per_program(uow, w, lambda supply, off: and_(
        lt.last_dispense_supply == supply, lt.last_dispense_at >= w.start - timedelta(days=supply + 2),
        lt.last_dispense_at < w.end + timedelta(days=1 - off)))
    by_dispense = select(lt.patient_id).where(
        ranges, or_(lt.last_survey_at.is_(None), lt.last_survey_at <= lt.last_dispense_at))
    out = []
    for b in _live(_load(uow, _candidates(uow, by_survey) + _candidates(uow, by_dispense), "surveys", "dispenses"),
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


def _per_program(uow: UnitOfWork, w: Window, supply_range: Callable[[int, int], Any]) -> Any:
    """R28's ranges on patient_latest, each program's own (migration 0021): `program_id = X AND
    (one range per days_supply from X's refill window and largest supply)`, OR-ed over the
    programs, on the (program_id, supply, latest dispense) index. (Before 0021 the ranges of every
    program applied to every patient: one program's wide window, 30 days, selected every patient of
    the others dispensed within it, and the candidates grew with the population.)"""
    lt = orm.patient_latest.c
    return or_(false(), *(and_(lt.program_id == program_id,
                               or_(false(), *(supply_range(supply, off)
                                              for supply, off in _supply_offsets(schedule.params_at(program, w.now)))))
                          for program_id, program in sorted(uow.programs.items())))


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
    memo: dict[tuple[str, int, str], datetime | None] = \
        uow.session.info.get(CACHE, {}).setdefault("refill_opens", {})
    key = (b.patient.id, window_days, tz)
    if key not in memo:
        memo[key] = schedule.refill_opens(still_counting(b.dispenses, window_days), window_days, tz)
    return memo[key]


def refill_windows(uow: UnitOfWork, w: Window) -> list[Reminder]:
    """R28: the window for the next dispense opened (at most N days of supply left), remind once
    it has opened, within the lookback."""
    lt = orm.patient_latest.c  # migrations 0014, 0021: each patient's latest dispense, its supply, program
    # Per program, one range per days_supply on the (program, supply, latest dispense) index:
    # opens = dispensed_at + days_supply - refill_window_days must fall between the window's start
    # and now. Earlier dispenses still on hand only delay the opening, by at most the latest's own
    # supply and a day (it was dispensed with at most the window on hand).
    query = select(lt.patient_id).where(_per_program(uow, w, lambda supply, off: and_(
        lt.last_dispense_supply == supply, lt.last_dispense_at >= w.start - timedelta(days=supply + 1),
        lt.last_dispense_at <= w.now - timedelta(days=off))))
    out = []
    for b in _live(_load(uow, _candidates(uow, query), "dispenses"), (PatientState.ACTIVE,)):
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
    pt = orm.patients.c
    births = [and_(pt.birth_date >= _years_before(w.first, p.child_age_years) - timedelta(days=1),
                   pt.birth_date <= _years_before(w.last, p.child_age_years) + timedelta(days=1))
              for p in all_params]
    menopause = [and_(pt.postmenopausal_since >= add_months(w.first, -p.postmenopause_months) - timedelta(days=3),
                      pt.postmenopausal_since <= add_months(w.last, -p.postmenopause_months) + timedelta(days=3))
                 for p in all_params]
    query = select(pt.id).where(or_(false(), *births, *menopause),
                                pt.state.in_((*LIVE_PATIENT_STATES, "pending")))
    out = []
    for b in _load(uow, _candidates(uow, query), "ppafs"):
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


