"""Time series for the periodic plots: dispenses and refusals by rule, per bucket of days."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from rems.adapters.uow import UnitOfWork
from rems.services.context import Context
from rems.services.reports.period import Period
from rems.services.reports.summary import refusal_rows, rules_of


@dataclass(frozen=True)
class ActivitySeries:
    buckets: list[datetime]  # each bucket's start; the last one may be cut short by the period end
    bucket_days: int
    dispenses: list[int]
    refusals_by_rule: dict[str, list[int]]  # rule -> refusals in which it failed, per bucket


def default_bucket_days(period: Period) -> int:
    days = (period.end - period.start).days
    return 1 if days <= 31 else 7 if days <= 366 else 30


def activity_series(uow: UnitOfWork, ctx: Context, period: Period,
                    bucket_days: int | None = None) -> ActivitySeries:
    size = timedelta(days=bucket_days or default_bucket_days(period))
    count = max(1, -(-(period.end - period.start) // size))
    buckets = [period.start + i * size for i in range(count)]

    def index(at: datetime) -> int:
        return min(count - 1, (at - period.start) // size)

    dispenses = [0] * count
    for at in uow.reports.dispensed_at(period.start, period.end):
        dispenses[index(at)] += 1
    by_rule: dict[str, Counter[int]] = {}
    for at, _stage, failures in refusal_rows(uow, period):
        for rule in rules_of(failures):
            by_rule.setdefault(rule, Counter())[index(at)] += 1
    return ActivitySeries(buckets, size.days, dispenses, {
        rule: [hits[i] for i in range(count)]
        for rule, hits in sorted(by_rule.items(), key=lambda kv: (len(kv[0]), kv[0]))})
