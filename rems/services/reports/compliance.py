"""Per prescriber and per pharmacy compliance for one period (issue 6): refused gates, late
patient surveys (R20), certification lapses and the certification held now (R1-R3, R25)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from rems.domain import gate
from rems.domain.catalogue import ENDING_TRIGGERS
from rems.domain.model import Prescriber
from rems.services.context import Context
from rems.services.dispensing.refusals import ENTITY as GATE
from rems.services.ports import UnitOfWork
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


def _lapses(uow: UnitOfWork, entity: str, period: Period) -> Counter[str]:
    return Counter(uow.reports.lapses(entity, LAPSES, period.start, period.end))


def _held(uow: UnitOfWork, kind: str, ids: list[str]) -> dict[str, tuple[str, bool]]:
    """R1, R25: each holder's certifications now, per program ("pomalidomide: certified; …"),
    and whether one is certified; a holder certified nowhere yet is "enrolled"."""
    per: dict[str, list[str]] = {}
    for c in uow.certifications.matching(kind, ids):
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
    prescribers = {p.id: p for p in uow.reports.prescribers()}
    issued = Counter(uow.reports.authorizations_by_prescriber(period.start, period.end))
    refusals = Counter(uow.reports.refusals_by_prescriber(GATE, period.start, period.end))
    as_of = period.as_of(ctx.now)
    late = Counter(r.patient.prescriber_id for r in treated_patients(uow)
                   if survey_late(r, prescribers[r.patient.prescriber_id], uow, as_of))
    lapses = _lapses(uow, "prescriber", period)
    held = _held(uow, "prescriber", list(prescribers))
    return [PrescriberCompliance(p.id, held[p.id][0], issued[p.id], refusals[p.id], late[p.id],
                                 lapses[p.id], held[p.id][1]) for p in prescribers.values()]


def pharmacy_compliance(uow: UnitOfWork, ctx: Context, period: Period) -> list[PharmacyCompliance]:
    pharmacies = uow.reports.pharmacies()
    dispenses = Counter(uow.reports.dispenses_by_pharmacy(period.start, period.end))
    refusals = Counter(uow.reports.refusals_by_pharmacy(GATE, period.start, period.end))
    lapses = _lapses(uow, "pharmacy", period)
    held = _held(uow, "pharmacy", [p.id for p in pharmacies])
    return [PharmacyCompliance(p.id, held[p.id][0], dispenses[p.id], refusals[p.id], lapses[p.id],
                               held[p.id][1]) for p in pharmacies]
