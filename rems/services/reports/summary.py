"""The figures of a REMS assessment for one period (issue 6): dispenses, refusals by rule id,
authorizations expired unused, pregnancy tests overdue (R11), pregnancies reported (R30)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rems.adapters.uow import UnitOfWork
from rems.domain import schedule
from rems.domain.categories import FRP_CATEGORIES
from rems.services.context import Context
from rems.services.dispensing.refusals import ENTITY as GATE
from rems.services.reports.period import Period
from rems.services.reports.population import PatientRecords, params_at, treated_patients


@dataclass(frozen=True)
class PeriodSummary:
    start: datetime
    end: datetime
    as_of: datetime  # when "overdue" was judged: the end, or now if the period is not over
    dispenses: int
    dispenses_by_category: dict[str, int]
    authorizations_issued: int
    authorizations_expired_unused: int  # R23: expired in the period, never dispensed nor voided
    refusals: int  # refused gates (authorize, check, confirm, dispense), each counted once
    refusals_by_stage: dict[str, int]
    refusals_by_rule: dict[str, int]  # refusals in which the rule failed
    pregnancy_tests_overdue: list[str]  # R11: patient ids, as of `as_of`
    pregnancies_reported: int  # R30
    pregnancies_by_source: dict[str, int]


def refusal_rows(uow: UnitOfWork, period: Period) -> list[tuple[datetime, str, list[dict[str, Any]]]]:
    """Every refused gate in the period: (when, stage, failures)."""
    return [(at, trigger.removesuffix("_refused"), list(reasons or []))
            for at, trigger, reasons in uow.reports.refusals(GATE, period.start, period.end)]


def rules_of(failures: list[dict[str, Any]]) -> set[str]:
    return {str(f.get("rule")) for f in failures if isinstance(f, dict) and f.get("rule")}


def pregnancy_test_overdue(r: PatientRecords, uow: UnitOfWork, as_of: datetime) -> bool:
    """R11: an FRP patient in treatment whose next pregnancy test was due before `as_of`."""
    params = params_at(uow, r.patient.program_id, as_of)
    program = uow.program(r.patient.program_id)
    if params is None or schedule.current_category(r.patient, program, as_of) not in FRP_CATEGORIES:
        return False
    # A report as of a past moment reads the records that existed then (the gate itself counts
    # every record); the due date is the schedule's.
    due = schedule.test_due([t for t in r.tests if t.collected_at <= as_of], r.ppafs,
                        [d for d in r.dispenses if d.dispensed_at <= as_of], r.patient.cycles_regular, params)
    return due is not None and due < as_of


def period_summary(uow: UnitOfWork, ctx: Context, period: Period) -> PeriodSummary:
    by_category = uow.reports.dispenses_by_category(period.start, period.end)
    issued = uow.reports.authorizations_issued(period.start, period.end)
    expired = uow.reports.authorizations_expired(period.start, period.end, ctx.now, ("dispensed", "voided"))
    refusals = refusal_rows(uow, period)
    by_rule: Counter[str] = Counter()
    for _at, _stage, failures in refusals:
        by_rule.update(rules_of(failures))
    pregnancies = uow.reports.pregnancies_by_source(period.start, period.end)
    as_of = period.as_of(ctx.now)
    overdue = [r.patient.id for r in treated_patients(uow) if pregnancy_test_overdue(r, uow, as_of)]
    return PeriodSummary(
        start=period.start, end=period.end, as_of=as_of, dispenses=sum(by_category.values()),
        dispenses_by_category=dict(sorted(by_category.items())), authorizations_issued=int(issued),
        authorizations_expired_unused=int(expired), refusals=len(refusals),
        refusals_by_stage=dict(sorted(Counter(stage for _a, stage, _f in refusals).items())),
        refusals_by_rule=dict(sorted(by_rule.items(), key=lambda kv: (len(kv[0]), kv[0]))),
        pregnancy_tests_overdue=overdue, pregnancies_reported=sum(pregnancies.values()),
        pregnancies_by_source=dict(sorted(pregnancies.items())))
