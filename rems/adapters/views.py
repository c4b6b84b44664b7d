"""The staff's and the dashboard's read models in SQL (issue 19 item 1; issue 18 items 1-3):
paged, searched, filtered and counted in the database, each scoped to the signed-in actor in the
query itself. What a list holds, in which order and why a patient needs action is decided in
rems/services/views/{staff_queues,web_queries}.py (port rems/services/ports/views.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, exists, false, func, or_, select

from rems.adapters import orm
from rems.adapters.due import among
from rems.domain import model
from rems.domain.access import ApiToken
from rems.domain.catalogue import ConfirmationState, PatientState, PrescriptionState
from rems.domain.model import Confirmation, Dispense, Patient, Prescription

if TYPE_CHECKING:
    from rems.adapters.uow import UnitOfWork

_HOLDERS = {"prescriber": (orm.prescribers, model.Prescriber, "npi"),
            "pharmacy": (orm.pharmacies, model.Pharmacy, "ncpdp_id")}
PATIENT_SORTS = {  # the order users may ask for; id breaks ties so pages never overlap
    "name": (orm.patients.c.name, orm.patients.c.id),
    "-enrolled": (orm.patients.c.enrolled_at.desc(), orm.patients.c.id),
    "enrolled": (orm.patients.c.enrolled_at, orm.patients.c.id),
    "birth_date": (orm.patients.c.birth_date, orm.patients.c.id),
    "state": (orm.patients.c.state, orm.patients.c.name, orm.patients.c.id),
}


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _like_as_is(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _latest_ppaf_category() -> Any:
    p = orm.ppafs.c
    return (select(p.category).where(p.patient_id == orm.patients.c.id)
            .order_by(p.signed_at.desc(), p.id.desc()).limit(1).scalar_subquery())


def _patient_where(prescriber_id: str, search: str, category: str) -> list[Any]:
    pt = orm.patients.c
    where: list[Any] = [pt.prescriber_id == prescriber_id]  # R5: only the prescriber's own
    if search:
        where.append(or_(func.lower(pt.name).like(_like(search), escape="\\"), pt.id == search))
    if category:
        where.append(_latest_ppaf_category() == category)
    return where


def _as_int(flag: Any) -> Any:
    return case((flag, 1), else_=0)


class ViewQueries:
    """The read models' queries, on one unit of work's session (uow.views)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    # -- the program staff's queues (18.3) -------------------------------------------------------
    def certification_queue(self, kind: str, program_id: str, search: str, state: str, states: Sequence[str],
                            page: int, size: int) -> tuple[list[tuple[Any, model.Certification | None]], int,
                                                           dict[str, int]]:
        """R1, R25: one page of the holders of `kind` and their certification in `program_id`
        (none: "enrolled"), in the order of `states`; how many match; how many in each state."""
        session = self.uow.session
        table, entity, identifier = _HOLDERS[kind]
        c = orm.certifications.c
        joined = table.outerjoin(orm.certifications, and_(
            c.holder_kind == kind, c.holder_id == table.c.id, c.program_id == program_id))
        in_state = func.coalesce(c.state, "enrolled")
        where: list[Any] = []
        if text := search.strip():
            where.append(or_(func.lower(table.c.name).like(_like_as_is(text.lower()), escape="\\"),
                             table.c[identifier].like(_like_as_is(text), escape="\\"), table.c.id == text))
        if state:
            where.append(in_state == state)
        total = session.scalar(select(func.count()).select_from(joined).where(*where)) or 0
        order = case({s: n for n, s in enumerate(states)}, value=in_state, else_=len(states))
        query: Any = (select(entity, model.Certification).select_from(joined).where(*where)
                 .order_by(order, table.c.enrolled_at, table.c.id)
                 .limit(size).offset((page - 1) * size))
        rows = [(holder, cert) for holder, cert in session.execute(query)]
        counts = {str(s): int(n) for s, n in session.execute(
            select(in_state, func.count()).select_from(joined).group_by(in_state))}
        return rows, int(total), counts

    def tokens_of(self, kind: str, holder_id: str, limit: int) -> Sequence[ApiToken]:
        """The tokens issued to one prescriber or pharmacy, newest first."""
        t = orm.api_tokens.c
        return self.uow.session.scalars(select(ApiToken).where(t.role == kind, t.actor_id == holder_id)
                                        .order_by(t.created_at.desc(), t.id).limit(limit)).all()

    # -- the prescriber's office (18.2) ----------------------------------------------------------
    def patients_page(self, prescriber_id: str, search: str, category: str, state: str, sort: str,
                      states: Sequence[str], limit: int, offset: int) -> tuple[list[tuple[Patient, str | None]],
                                                                             dict[str, int]]:
        """The prescriber's patients matching the search and category, one page in the order asked,
        each row (patient, latest PPAF category); the count in each of `states` of those matching
        the search and category (before the state filter)."""
        pt = orm.patients.c
        where = _patient_where(prescriber_id, search, category)
        by_state = {s: n for s, n in self.uow.session.execute(
            select(pt.state, func.count()).where(*where).group_by(pt.state))}
        counts = {s: int(by_state.get(s, 0)) for s in states}
        if state:
            where.append(pt.state == state)
        order = PATIENT_SORTS.get(sort, PATIENT_SORTS["name"])
        query = (select(Patient, _latest_ppaf_category().label("ppaf_category")).where(*where)
                 .order_by(*order).limit(limit).offset(offset))
        rows = [(patient, ppaf_category) for patient, ppaf_category in self.uow.session.execute(query)]
        return rows, counts

    def of_prescriber(self, prescriber_id: str, patient_ids: list[str]) -> set[str]:
        """Of `patient_ids`, the prescriber's own (R5)."""
        pt = orm.patients.c
        mine: set[str] = set()
        for condition in among(self.uow.session, pt.id, patient_ids):  # R5: only the prescriber's own
            mine.update(self.uow.session.scalars(select(pt.id).where(condition, pt.prescriber_id == prescriber_id)))
        return mine

    def needs_action(self, prescriber_id: str, now: datetime, lead_days: int, due: Mapping[str, list[str]],
                     overdue_since: Sequence[tuple[str, str, datetime]], live: Sequence[str],
                     holds: Sequence[str], open_rx: Sequence[str], names: Sequence[str], limit: int,
                     offset: int) -> tuple[list[tuple[Patient, list[str]]], int, dict[str, int]]:
        """The prescriber's patients flagged by one of `names` (most urgent first), one page: each
        row (patient, [its flags]); how many in all; how many per flag. `due` holds the patients
        the reminders find due or overdue (test_due, test_overdue, survey_due, survey_overdue);
        `overdue_since` (program, testing phase, instant) a treated patient's latest negative test
        must follow, beyond the reminders' lookback (R11)."""
        pt, rx, t = orm.patients.c, orm.prescriptions.c, orm.pregnancy_tests.c
        long_overdue = or_(false(), *(and_(pt.program_id == program_id, pt.test_phase == phase, ~exists().where(
            t.patient_id == pt.id, t.result == "negative", t.collected_at > since))
            for program_id, phase, since in overdue_since))
        test_overdue = or_(pt.id.in_(due["test_overdue"]), and_(pt.state.in_(live), long_overdue))
        every = {
            "stopped": pt.state == PatientState.PREGNANCY_STOP,
            "test_overdue": test_overdue,
            "survey_overdue": pt.id.in_(due["survey_overdue"]),
            "on_hold": pt.state.in_(holds),
            "refused": exists().where(rx.patient_id == pt.id, rx.state == PrescriptionState.REQUESTED),
            "expiring": exists().where(rx.patient_id == pt.id, rx.state.in_(open_rx),
                                       rx.expires_at < now + timedelta(days=lead_days)),
            "test_due": and_(pt.id.in_(due["test_due"]), ~test_overdue),
            "survey_due": pt.id.in_(due["survey_due"]),
        }
        flags = {name: every[name] for name in names}
        labelled = [flag.label(name) for name, flag in flags.items()]
        scoped = pt.prescriber_id == prescriber_id  # R5
        anything = or_(*flags.values())
        totals = self.uow.session.execute(select(func.count(), *(func.sum(_as_int(f)) for f in flags.values()))
                                          .where(scoped, anything)).one()
        counts = {name: int(totals[i + 1] or 0) for i, name in enumerate(flags)}
        urgency = [_as_int(flag).desc() for flag in flags.values()]
        query = (select(Patient, *labelled).where(scoped, anything)
                 .order_by(*urgency, pt.name, pt.id).limit(limit).offset(offset))
        rows = [(row[0], [name for name in flags if getattr(row, name)])
                for row in self.uow.session.execute(query)]
        return rows, int(totals[0]), counts

    def strengths(self, prescription_ids: list[str]) -> dict[str, str]:
        """The strength ordered on each of these prescriptions that recorded one."""
        rx = orm.prescriptions.c
        query = select(rx.id, rx.strength).where(rx.id.in_(prescription_ids), rx.strength.is_not(None))
        return {rx_id: strength for rx_id, strength in self.uow.session.execute(query)}

    # -- the pharmacy (18.1) ----------------------------------------------------------------------
    def worklist(self, pharmacy_id: str) -> list[tuple[Confirmation, Prescription, Patient]]:
        """R26, R27: the pharmacy's live confirmations with their prescription and patient, the
        soonest to expire first."""
        c, rx, pt = orm.confirmations.c, orm.prescriptions.c, orm.patients.c
        query = (select(Confirmation, Prescription, Patient)
                 .join(orm.prescriptions, rx.id == c.prescription_id).join(orm.patients, pt.id == rx.patient_id)
                 .where(c.pharmacy_id == pharmacy_id, c.state == ConfirmationState.ISSUED).order_by(c.expires_at, c.id))
        return [(cnf, prescription, patient) for cnf, prescription, patient in self.uow.session.execute(query)]

    def dispenses_page(self, pharmacy_id: str, search: str, limit: int,
                       offset: int) -> tuple[list[tuple[Any, ...]], int]:
        """R33: the pharmacy's dispenses, newest first, searched by patient name or id, authorization
        or confirmation number; each row (dispense, prescription, confirmation number, patient)."""
        d, rx, c, pt = orm.dispenses.c, orm.prescriptions.c, orm.confirmations.c, orm.patients.c
        where: list[Any] = [d.pharmacy_id == pharmacy_id]  # R25: only the pharmacy's own
        if search:
            where.append(or_(func.lower(pt.name).like(_like(search), escape="\\"), pt.id == search,
                             rx.number == search, c.number == search))
        joined = (orm.dispenses.join(orm.prescriptions, rx.id == d.prescription_id)
                  .join(orm.confirmations, c.id == d.confirmation_id).join(orm.patients, pt.id == d.patient_id))
        total = self.uow.session.execute(select(func.count()).select_from(joined).where(*where)).scalar_one()
        query = (select(Dispense, Prescription, c.number, Patient).select_from(joined).where(*where)
                 .order_by(d.dispensed_at.desc(), d.id).limit(limit).offset(offset))
        return [tuple(row) for row in self.uow.session.execute(query)], int(total)
