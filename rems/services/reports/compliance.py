"""Per prescriber and per pharmacy compliance for one period (issue 6): refused gates, late
patient surveys (R20), certification lapses and the certification held now (R1-R3, R25)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from rems.adapters import orm
from rems.adapters.uow import UnitOfWork
from rems.domain import gate
from rems.domain.catalogue import ENDING_TRIGGERS
from rems.domain.model import Pharmacy, Prescriber
from rems.services.context import Context
from rems.services.dispensing.refusals import ENTITY as GATE
from rems.services.reports.period import Period
from rems.services.reports.population import PatientRecords, params_at, treated_patients

LAPSES = ENDING_TRIGGERS  # a certification that stopped holding


@dataclass(frozen=True)
class PrescriberCompliance:
    prescriber_id: str
    state: str  # the certifications now, per program (R1, R3)
    authorizations_issued: int
    refusals: int  # refused gates on this prescriber's prescriptions, any stage
    late_surveys: int  # R20: this prescriber's patients in treatment whose survey is overdue
    certification_lapses: int  # lapsed, suspended or revoked in the period
    certified: bool


@dataclass(frozen=True)
class PharmacyCompliance:
    pharmacy_id: str
    state: str  # the certifications now, per program (R25)
    dispenses: int
    refusals: int  # refused checks, confirmations and dispenses at this pharmacy
    certification_lapses: int
    certified: bool


def _counts(uow: UnitOfWork, query: Any) -> Counter[str]:
    return Counter({str(key): int(n) for key, n in uow.session.execute(query) if key is not None})


def _lapses(uow: UnitOfWork, entity: str, period: Period) -> Counter[str]:
    t = orm.audit_log.c
    return _counts(uow, select(t.entity_id, func.count()).where(
        t.entity == entity, t.trigger.in_(LAPSES), t.at >= period.start, t.at < period.end)
        .group_by(t.entity_id))


def _held(uow: UnitOfWork, kind: str, ids: list[str]) -> dict[str, tuple[str, bool]]:
    """R1, R25: each holder's certifications now, per program ("pomalidomide: certified; …"),
    and whether one is certified; a holder certified nowhere yet is "enrolled"."""
    per: dict[str, list[str]] = {}
    for c in uow.certifications(kind, ids):
        per.setdefault(c.holder_id, []).append(f"{c.program_id}: {c.state}")
    return {key: ("; ".join(per.get(key, [])) or "enrolled",
                  any(s.endswith(": certified") for s in per.get(key, []))) for key in ids}


def survey_late(r: PatientRecords, prescriber: Prescriber, uow: UnitOfWork, as_of: datetime) -> bool:
    """R20 as the gate reads it, at `as_of`."""
    records = gate.Records(patient=r.patient, prescriber=prescriber, prescription=None, ppafs=r.ppafs,
                           tests=r.tests, patient_surveys=[s for s in r.surveys if s.completed_at <= as_of],
                           dispenses=[d for d in r.dispenses if d.dispensed_at <= as_of])
    if params_at(uow, r.patient.program_id, as_of) is None:
        return False
    today = gate.today_of(records, uow.program(r.patient.program_id), as_of)
    return not gate.patient_survey_requirement(records, today).met


def prescriber_compliance(uow: UnitOfWork, ctx: Context, period: Period) -> list[PrescriberCompliance]:
    t, rx = orm.audit_log.c, orm.prescriptions.c
    prescribers = {p.id: p for p in uow.session.scalars(
        select(Prescriber).order_by(orm.prescribers.c.id))}
    issued = _counts(uow, select(rx.prescriber_id, func.count()).where(
        rx.authorized_at >= period.start, rx.authorized_at < period.end).group_by(rx.prescriber_id))
    refusals = _counts(uow, select(rx.prescriber_id, func.count()).select_from(
        orm.audit_log.join(orm.prescriptions, t.entity_id == rx.id)).where(
        t.entity == GATE, t.at >= period.start, t.at < period.end).group_by(rx.prescriber_id))
    as_of = period.as_of(ctx.now)
    late = Counter(r.patient.prescriber_id for r in treated_patients(uow)
                   if survey_late(r, prescribers[r.patient.prescriber_id], uow, as_of))
    lapses = _lapses(uow, "prescriber", period)
    held = _held(uow, "prescriber", list(prescribers))
    return [PrescriberCompliance(p.id, held[p.id][0], issued[p.id], refusals[p.id], late[p.id],
                                 lapses[p.id], held[p.id][1]) for p in prescribers.values()]


def pharmacy_compliance(uow: UnitOfWork, ctx: Context, period: Period) -> list[PharmacyCompliance]:
    t, d = orm.audit_log.c, orm.dispenses.c
    pharmacies = uow.session.scalars(select(Pharmacy).order_by(orm.pharmacies.c.id)).all()
    dispenses = _counts(uow, select(d.pharmacy_id, func.count()).where(
        d.dispensed_at >= period.start, d.dispensed_at < period.end).group_by(d.pharmacy_id))
    at_pharmacy = t.refs["pharmacy"].as_string()
    refusals = _counts(uow, select(at_pharmacy, func.count()).where(
        t.entity == GATE, t.at >= period.start, t.at < period.end).group_by(at_pharmacy))
    lapses = _lapses(uow, "pharmacy", period)
    held = _held(uow, "pharmacy", [p.id for p in pharmacies])
    return [PharmacyCompliance(p.id, held[p.id][0], dispenses[p.id], refusals[p.id], lapses[p.id],
                               held[p.id][1]) for p in pharmacies]
