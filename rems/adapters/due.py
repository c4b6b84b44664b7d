"""The reminder sweep's queries (issue 19 item 1; issue 14 item 6): candidates selected by range
conditions on indexed columns, and their records loaded in a few IN queries. The finders that
decide what is due from these rows are rems/services/reminders/due_patients.py and due_records.py
(behind the port rems/services/ports/due.py); this module holds their SQL only.

The latest test, survey and dispense of each patient are kept on write in `patient_latest`
(migration 0014, issue 14 item 6), so no query steps over a patient's older history to find them;
with the patient's program (migration 0021), so R28's ranges are each program's own
(_per_program)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, and_, any_, bindparam, exists, false, or_, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from rems.adapters import orm
from rems.domain.catalogue import (
    ISSUED_PRESCRIPTION_STATES,
    CertificationState,
    ConfirmationState,
    PrescriptionState,
)
from rems.domain.window import Window
from workflows.program import Parameters

if TYPE_CHECKING:
    from rems.adapters.uow import UnitOfWork


@dataclass
class Bundle:
    """A candidate's records as read-only rows (Core selects, no ORM entity loads): each row reads
    like the model object (same attribute names), which is all the domain functions use."""

    patient: Any  # a patients row, read as Patient
    tests: list[Any] = field(default_factory=list)  # pregnancy_tests rows, read as PregnancyTest
    ppafs: list[Any] = field(default_factory=list)  # ppafs rows, read as Ppaf
    surveys: list[Any] = field(default_factory=list)  # patient_surveys rows, read as PatientSurvey
    dispenses: list[Any] = field(default_factory=list)  # dispenses rows, read as Dispense


def among(session: Session, column: Any, ids: list[str]) -> list[Any]:
    """column IN ids, as few conditions as the database takes: one array parameter on PostgreSQL
    (= ANY), chunks of 500 placeholders on SQLite (its bound-parameter limit)."""
    if session.get_bind().dialect.name == "postgresql":
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

# Per program, R28's (days_supply, days from a dispense of that supply until the window can open
# at the earliest), as rems.services.reminders.due_patients computes them from the parameters.
Offsets = Sequence[tuple[str, Sequence[tuple[int, int]]]]


def _anchored(column: Any, w: Window, intervals: Iterable[int]) -> Any:
    """column + interval falls inside the window, for one of the intervals (in days)."""
    return or_(false(), *(and_(column >= w.start - timedelta(days=days), column < w.end - timedelta(days=days))
                          for days in sorted(set(intervals))))


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


def _per_program(offsets: Offsets, supply_range: Callable[[int, int], Any]) -> Any:
    """R28's ranges on patient_latest, each program's own (migration 0021): `program_id = X AND
    (one range per days_supply from X's refill window and largest supply)`, OR-ed over the
    programs, on the (program_id, supply, latest dispense) index. (Before 0021 the ranges of every
    program applied to every patient: one program's wide window, 30 days, selected every patient of
    the others dispensed within it, and the candidates grew with the population.)"""
    lt = orm.patient_latest.c
    return or_(false(), *(and_(lt.program_id == program_id,
                               or_(false(), *(supply_range(supply, off) for supply, off in pairs)))
                          for program_id, pairs in offsets))


class DueQueries:
    """The finders' reads, on one unit of work's session (uow.due)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def jit_off(self) -> None:
        if self.uow.session.get_bind().dialect.name == "postgresql":
            # PostgreSQL's JIT compiles a plan whose estimated cost passes a threshold; for these
            # index-range queries compiling took longer than running them (up to 1.9 s a statement at
            # 100,000 patients, in EXPLAIN ANALYZE): off for this transaction only.
            self.uow.session.execute(text("SET LOCAL jit = off"))

    @contextmanager
    def sharing(self) -> Iterator[None]:
        """Within one pass of the finders (rems.services.reminders.reminders.find_due, one read transaction),
        a patient's row and records are read once: the survey and refill finders, for instance, both
        need the same candidates' dispenses. Outside it every load reads afresh."""
        self.uow.session.info[CACHE] = {}
        try:
            yield
        finally:
            self.uow.session.info.pop(CACHE, None)

    def memo(self, name: str) -> dict[Any, Any]:
        """A dict kept for the pass of `sharing` (a fresh one outside it): what the finders compute
        once per pass (the parameters in force, R28's openings)."""
        found: dict[Any, Any] = self.uow.session.info.get(CACHE, {}).setdefault(name, {})
        return found

    def among(self, column: Any, ids: list[str]) -> list[Any]:
        return among(self.uow.session, column, ids)

    def load(self, patient_ids: Iterable[str], *wanted: str) -> list[Bundle]:
        """The candidates' rows and, of their records, the `wanted` kinds ("tests", "ppafs",
        "surveys", "dispenses": only what the finder reads), one query per table (per chunk), each
        ordered as the gate wants; within `sharing`, only what an earlier finder did not read."""
        uow = self.uow
        ids = sorted(set(patient_ids))
        cache: dict[str, dict[str, Any]] = uow.session.info.get(CACHE, {})
        patients = cache.setdefault("patients", {})
        missing = [i for i in ids if i not in patients]
        for condition in among(uow.session, orm.patients.c.id, missing):
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
            for condition in among(uow.session, table.c.patient_id, missing):
                for row in uow.session.execute(select(*columns).where(condition).order_by(order, table.c.id)).all():
                    rows[row.patient_id].append(row)
        return [Bundle(patients[i], *(cache[attr][i] if attr in wanted else [] for attr in _KINDS)) for i in found]

    def _candidates(self, query: Any) -> list[str]:
        return list(dict.fromkeys(self.uow.session.scalars(query)))

    # -- on patients (R8, R11, R20, R28, the program's lab tests) -------------------------------
    def tested(self, w: Window, programs: list[tuple[str, Parameters]], states: Sequence[str],
               phases: Sequence[str], threshold: float) -> list[str]:
        """R11: the live treated patients whose latest negative test puts the next one in the window
        under one of their program's cadences, then those whose latest negative test is less
        sensitive than `threshold`."""
        lt, pt = orm.patient_latest.c, orm.patients.c
        # A candidate's latest negative test anchors the window; a latest one too insensitive to
        # qualify (R9) leaves the anchor to an earlier one, so such patients are candidates anyway
        # (schedule.test_due decides, on all their tests).
        live = (pt.state.in_(states), pt.test_phase.in_(phases))
        anchored = select(lt.patient_id).join(orm.patients, pt.id == lt.patient_id).where(
            _test_cadences(w, programs), *live)
        insensitive = select(lt.patient_id).join(orm.patients, pt.id == lt.patient_id).where(
            lt.last_negative_sensitivity > threshold, *live)
        return self._candidates(anchored) + self._candidates(insensitive)

    def in_programs(self, program_ids: Sequence[str], states: Sequence[str]) -> list[str]:
        """The patients of these programs in `states`."""
        pt = orm.patients.c
        return self._candidates(select(pt.id).where(pt.program_id.in_(program_ids), pt.state.in_(states)))

    def lab_results(self, ids: list[str]) -> dict[str, list[Any]]:
        """Each patient's lab results (rows), in collection order."""
        results: dict[str, list[Any]] = {}
        for condition in among(self.uow.session, orm.lab_results.c.patient_id, ids):
            query = select(orm.lab_results).where(condition).order_by(orm.lab_results.c.collected_at)
            for row in self.uow.session.execute(query).all():
                results.setdefault(row.patient_id, []).append(row)
        return results

    def surveyed(self, w: Window, around: Iterable[int], offsets: Offsets) -> list[str]:
        """R20: the patients whose latest survey plus one of the `around` intervals falls in the
        window, then those whose latest dispense, with no survey after it, opens R28's window in it."""
        lt = orm.patient_latest.c  # migrations 0014, 0021: each patient's latest survey and dispense, program
        by_survey = select(lt.patient_id).where(_anchored(lt.last_survey_at, w, around))
        # Once a dispense follows the last survey, the next survey is due when the next dispense may
        # be made (R28's window opens): select on that date, one range per days_supply on the
        # (program_id, days_supply, dispensed_at) index, each program's own (as refilled), for
        # latest dispenses with no survey after them. The window opens at least `supply -
        # refill_window_days` days after the latest dispense and at most its supply and a day after
        # it; a day either side covers every zone.
        ranges = _per_program(offsets, lambda supply, off: and_(
            lt.last_dispense_supply == supply, lt.last_dispense_at >= w.start - timedelta(days=supply + 2),
            lt.last_dispense_at < w.end + timedelta(days=1 - off)))
        by_dispense = select(lt.patient_id).where(
            ranges, or_(lt.last_survey_at.is_(None), lt.last_survey_at <= lt.last_dispense_at))
        return self._candidates(by_survey) + self._candidates(by_dispense)

    def refilled(self, w: Window, offsets: Offsets) -> list[str]:
        """R28: the patients whose latest dispense opens the next one's window between the window's
        start and now."""
        lt = orm.patient_latest.c  # migrations 0014, 0021: each patient's latest dispense, its supply, program
        # Per program, one range per days_supply on the (program, supply, latest dispense) index:
        # opens = dispensed_at + days_supply - refill_window_days must fall between the window's start
        # and now. Earlier dispenses still on hand only delay the opening, by at most the latest's own
        # supply and a day (it was dispensed with at most the window on hand).
        query = select(lt.patient_id).where(_per_program(offsets, lambda supply, off: and_(
            lt.last_dispense_supply == supply, lt.last_dispense_at >= w.start - timedelta(days=supply + 1),
            lt.last_dispense_at <= w.now - timedelta(days=off))))
        return self._candidates(query)

    def born_or_postmenopausal(self, births: Sequence[tuple[date, date]],
                               menopause: Sequence[tuple[date, date]], states: Sequence[str]) -> list[str]:
        """R8: the patients in `states` born, or postmenopausal since, within one of the ranges."""
        pt = orm.patients.c
        query = select(pt.id).where(or_(false(), *(and_(pt.birth_date >= low, pt.birth_date <= high)
                                                   for low, high in births),
                                        *(and_(pt.postmenopausal_since >= low, pt.postmenopausal_since <= high)
                                          for low, high in menopause)),
                                    pt.state.in_(states))
        return self._candidates(query)

    # -- on records (R19, R23, R27, R3, R25) ---------------------------------------------------
    def waiting_for_survey(self, w: Window) -> list[Any]:
        """R19: (id, prescriber_id, requested_at) of the prescriptions requested in the window
        until now that have no prescriber survey."""
        rx, survey = orm.prescriptions.c, orm.prescriber_surveys.c
        return list(self.uow.session.execute(select(rx.id, rx.prescriber_id, rx.requested_at).where(
            rx.state == PrescriptionState.REQUESTED, rx.requested_at >= w.start, rx.requested_at <= w.now,
            ~exists().where(survey.prescription_id == rx.id))))

    def authorizations(self, w: Window) -> tuple[list[Any], list[Any]]:
        """R23: (id, prescriber_id, expires_at) of the live authorizations expiring after now within
        the window, and of those expired within the lookback."""
        rx = orm.prescriptions.c
        expiring = self.uow.session.execute(select(rx.id, rx.prescriber_id, rx.expires_at).where(
            rx.expires_at > w.now, rx.expires_at < w.end, rx.state.in_(ISSUED_PRESCRIPTION_STATES)))
        expired = self.uow.session.execute(select(rx.id, rx.prescriber_id, rx.expires_at).where(
            rx.expires_at >= w.start, rx.expires_at <= w.now, rx.state == PrescriptionState.EXPIRED))
        return list(expiring), list(expired)

    def expired_confirmations(self, w: Window) -> list[Any]:
        """R27: (id, pharmacy_id, expires_at) of the confirmations expired within the lookback."""
        c = orm.confirmations.c
        return list(self.uow.session.execute(select(c.id, c.pharmacy_id, c.expires_at).where(
            c.expires_at >= w.start, c.expires_at <= w.now, c.state == ConfirmationState.EXPIRED)))

    def certified_between(self, program_id: str, kind: str, start: datetime, end: datetime) -> list[Any]:
        """R3, R25: (id, holder_id, certified_at) of the live certifications of `kind` in the
        program certified in [start, end)."""
        c = orm.certifications.c
        return list(self.uow.session.execute(select(c.id, c.holder_id, c.certified_at).where(
            c.program_id == program_id, c.holder_kind == kind, c.state == CertificationState.CERTIFIED,
            c.certified_at >= start, c.certified_at < end)))
