"""The compliance reports' queries (issue 6, issue 18 item 3; issue 19 item 1): counts and rows for
one period [start, end). What they mean, and every figure computed from them, is
rems/services/reports/'s."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Select, and_, func, or_, select

from rems.adapters import orm
from rems.domain.model import Dispense, Patient, PatientSurvey, Pharmacy, Ppaf, PregnancyTest, Prescriber

if TYPE_CHECKING:
    from rems.adapters.uow import UnitOfWork

T = TypeVar("T")


class ReportQueries:
    """`uow.reports` (rems.services.ports.reports.ReportQueries)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def _counts(self, query: Any) -> dict[str, int]:
        return {str(key): int(n) for key, n in self._uow.session.execute(query) if key is not None}

    # -- summary and series ---------------------------------------------------------------------
    def refusals(self, gate: str, start: datetime, end: datetime) -> list[tuple[datetime, str, Any]]:
        """Every refused gate in the period, by time: (when, trigger, reasons)."""
        t = orm.audit_log.c
        query = select(t.at, t.trigger, t.reasons).where(
            t.entity == gate, t.at >= start, t.at < end).order_by(t.at)
        return [(at, trigger, reasons) for at, trigger, reasons in self._uow.session.execute(query)]

    def dispenses_by_category(self, start: datetime, end: datetime) -> dict[str, int]:
        d, rx = orm.dispenses.c, orm.prescriptions.c
        return {str(key): int(n) for key, n in self._uow.session.execute(
            select(rx.category, func.count()).select_from(
                orm.dispenses.join(orm.prescriptions, d.prescription_id == rx.id)).where(
                d.dispensed_at >= start, d.dispensed_at < end).group_by(rx.category))}

    def authorizations_issued(self, start: datetime, end: datetime) -> int:
        rx = orm.prescriptions.c
        return int(self._uow.session.scalar(select(func.count()).select_from(orm.prescriptions).where(
            rx.authorized_at >= start, rx.authorized_at < end)) or 0)

    def authorizations_expired(self, start: datetime, end: datetime, now: datetime,
                               ended: Sequence[str]) -> int:
        """Numbered authorizations that expired in the period by `now`, not in an `ended` state."""
        rx = orm.prescriptions.c
        return int(self._uow.session.scalar(select(func.count()).select_from(orm.prescriptions).where(
            rx.number.is_not(None), rx.expires_at >= start, rx.expires_at < end,
            rx.expires_at <= now, rx.state.not_in(tuple(ended)))) or 0)

    def pregnancies_by_source(self, start: datetime, end: datetime) -> dict[str, int]:
        pr = orm.pregnancy_reports.c
        return {str(key): int(n) for key, n in self._uow.session.execute(
            select(pr.source, func.count()).where(
                pr.reported_at >= start, pr.reported_at < end).group_by(pr.source))}

    def dispensed_at(self, start: datetime, end: datetime) -> list[datetime]:
        d = orm.dispenses.c
        return [at for (at,) in self._uow.session.execute(select(d.dispensed_at).where(
            d.dispensed_at >= start, d.dispensed_at < end))]

    # -- assessment -----------------------------------------------------------------------------
    def waiver_counts(self, start: datetime, end: datetime) -> dict[str, int]:
        w = orm.waiver_uses.c
        rows = self._uow.session.execute(select(w.waiver, func.count()).where(w.at >= start, w.at < end)
                                         .group_by(w.waiver).order_by(w.waiver))
        return {str(name): int(n) for name, n in rows}

    def dispense_times(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime, str, str]]:
        """Each dispense of the period: (dispensed_at, its prescription's requested_at, category, site)."""
        d, rx = orm.dispenses.c, orm.prescriptions.c
        query = select(d.dispensed_at, rx.requested_at, rx.category, d.pharmacy_id).select_from(
            orm.dispenses.join(orm.prescriptions, d.prescription_id == rx.id)).where(
            d.dispensed_at >= start, d.dispensed_at < end)
        return [(dispensed, requested, category, site)
                for dispensed, requested, category, site in self._uow.session.execute(query)]

    # -- compliance -----------------------------------------------------------------------------
    def prescribers(self) -> list[Prescriber]:
        return list(self._uow.session.scalars(select(Prescriber).order_by(orm.prescribers.c.id)))

    def pharmacies(self) -> list[Pharmacy]:
        return list(self._uow.session.scalars(select(Pharmacy).order_by(orm.pharmacies.c.id)).all())

    def lapses(self, entity: str, triggers: Sequence[str], start: datetime, end: datetime) -> dict[str, int]:
        t = orm.audit_log.c
        return self._counts(select(t.entity_id, func.count()).where(
            t.entity == entity, t.trigger.in_(triggers), t.at >= start, t.at < end)
            .group_by(t.entity_id))

    def authorizations_by_prescriber(self, start: datetime, end: datetime) -> dict[str, int]:
        rx = orm.prescriptions.c
        return self._counts(select(rx.prescriber_id, func.count()).where(
            rx.authorized_at >= start, rx.authorized_at < end).group_by(rx.prescriber_id))

    def refusals_by_prescriber(self, gate: str, start: datetime, end: datetime) -> dict[str, int]:
        t, rx = orm.audit_log.c, orm.prescriptions.c
        return self._counts(select(rx.prescriber_id, func.count()).select_from(
            orm.audit_log.join(orm.prescriptions, t.entity_id == rx.id)).where(
            t.entity == gate, t.at >= start, t.at < end).group_by(rx.prescriber_id))

    def dispenses_by_pharmacy(self, start: datetime, end: datetime) -> dict[str, int]:
        d = orm.dispenses.c
        return self._counts(select(d.pharmacy_id, func.count()).where(
            d.dispensed_at >= start, d.dispensed_at < end).group_by(d.pharmacy_id))

    def refusals_by_pharmacy(self, gate: str, start: datetime, end: datetime) -> dict[str, int]:
        t = orm.audit_log.c
        at_pharmacy = t.refs["pharmacy"].as_string()
        return self._counts(select(at_pharmacy, func.count()).where(
            t.entity == gate, t.at >= start, t.at < end).group_by(at_pharmacy))

    # -- population -----------------------------------------------------------------------------
    def _grouped(self, cls: type[T], query: Select[Any], order: Any) -> dict[str, list[T]]:
        out: dict[str, list[T]] = defaultdict(list)
        for row in self._uow.session.scalars(query.order_by(order)):
            out[row.patient_id].append(row)
        return out

    def patients_with_records(self, states: Sequence[str]) -> tuple[
            Sequence[Patient], Mapping[str, list[Ppaf]], Mapping[str, list[PregnancyTest]],
            Mapping[str, list[PatientSurvey]], Mapping[str, list[Dispense]]]:
        """Every patient in `states`, and their PPAFs, tests, surveys and dispenses by patient id,
        each in its order: five queries in all."""
        p = orm.patients.c
        ids = select(p.id).where(p.state.in_(states)).scalar_subquery()
        patients = self._uow.session.scalars(select(Patient).where(p.state.in_(states)).order_by(p.id)).all()
        ppafs = self._grouped(Ppaf, select(Ppaf).where(orm.ppafs.c.patient_id.in_(ids)),
                              orm.ppafs.c.signed_at)
        tests = self._grouped(PregnancyTest,
                              select(PregnancyTest).where(orm.pregnancy_tests.c.patient_id.in_(ids)),
                              orm.pregnancy_tests.c.collected_at)
        surveys = self._grouped(PatientSurvey,
                                select(PatientSurvey).where(orm.patient_surveys.c.patient_id.in_(ids)),
                                orm.patient_surveys.c.completed_at)
        dispenses = self._grouped(Dispense, select(Dispense).where(orm.dispenses.c.patient_id.in_(ids)),
                                  orm.dispenses.c.dispensed_at)
        return patients, ppafs, tests, surveys, dispenses

    # -- history --------------------------------------------------------------------------------
    def patient_trail(self, patient_id: str, gate: str) -> list[Mapping[Any, Any]]:
        """Every entry about the patient or one of their records, in chain order."""
        t, rx, c = orm.audit_log.c, orm.prescriptions.c, orm.confirmations.c
        prescriptions = select(rx.id).where(rx.patient_id == patient_id)
        owned = {  # entity -> the ids of this patient's records of that kind
            "prescription": prescriptions, gate: prescriptions,
            "confirmation": select(c.id).where(c.prescription_id.in_(prescriptions)),
            "pregnancy_test": select(orm.pregnancy_tests.c.id).where(
                orm.pregnancy_tests.c.patient_id == patient_id),
            "patient_survey": select(orm.patient_surveys.c.id).where(
                orm.patient_surveys.c.patient_id == patient_id),
            "pregnancy_report": select(orm.pregnancy_reports.c.id).where(
                orm.pregnancy_reports.c.patient_id == patient_id),
        }
        notifications = getattr(orm, "notifications", None)  # issue 4's reminders, when present
        if notifications is not None:
            n = notifications.c
            owned["notification"] = select(n.id).where(or_(n.recipient == f"patient:{patient_id}",
                                                           n.subject == patient_id))
        where = or_(and_(t.entity.in_(("patient", "pregnancy_testing")), t.entity_id == patient_id),
                    *(and_(t.entity == entity, t.entity_id.in_(ids)) for entity, ids in owned.items()))
        return list(self._uow.session.execute(select(orm.audit_log).where(where)
                                              .order_by(t.seq.is_(None), t.seq, t.id)).mappings())
