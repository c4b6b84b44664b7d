"""The figures a REMS assessment asks for, per period (issue 18 item 3): time from prescription to
dispense (median and 90th percentile, by risk category and by dispensing site), refusals by rule,
missed pregnancy-test windows (R11), pregnancies reported (R30), and relaxations used (declared
relaxations are another lane's: a hook counts them, none until it is wired).

The time to dispense runs from the prescription's `requested_at` (the prescriber writes it) to the
dispense's `dispensed_at`, for the dispenses of the period. The median is the middle value (the
mean of the two middle ones for an even count); the 90th percentile is the nearest rank, the
smallest value at least 90 % of the values do not exceed, so it is always an observed time.
"""

from __future__ import annotations

import io
import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rems.adapters.uow import UnitOfWork
from rems.services.context import Context
from rems.services.reports.period import Period
from rems.services.reports.summary import period_summary
from rems.services.reports.tables import csv_text

# Relaxations used in a period, by relaxation name (rems/services relaxations, lifecycle lane).
RelaxationsUsed = Callable[[UnitOfWork, Period], Mapping[str, int]]


def waivers_used(uow: UnitOfWork, period: Period) -> Mapping[str, int]:
    """PROGRAMS.md "Degraded operation": every gate decision a waiver allowed in the period, by
    waiver (a declared relaxation's name, or enforcement_discretion), from the reconciliation list."""
    return uow.reports.waiver_counts(period.start, period.end)


RELAXATIONS_USED: RelaxationsUsed | None = waivers_used


@dataclass(frozen=True)
class Durations:
    count: int
    median_hours: float | None
    p90_hours: float | None

    @classmethod
    def of(cls, hours: Sequence[float]) -> Durations:
        if not hours:
            return cls(0, None, None)
        ordered = sorted(hours)
        rank = math.ceil(0.9 * len(ordered))  # nearest rank, 1-based
        return cls(len(ordered), round(statistics.median(ordered), 2), round(ordered[rank - 1], 2))


@dataclass(frozen=True)
class Assessment:
    start: datetime
    end: datetime
    as_of: datetime
    dispenses: int
    to_dispense: Durations
    to_dispense_by_category: dict[str, Durations]
    to_dispense_by_site: dict[str, Durations]  # pharmacy id
    refusals: int
    refusals_by_rule: dict[str, int]
    missed_test_windows: list[str]  # R11: patient ids whose pregnancy test was overdue at `as_of`
    pregnancies_reported: int  # R30
    pregnancies_by_source: dict[str, int]
    relaxations_used: dict[str, int] | None  # None: not recorded by this deployment yet


def _hours(uow: UnitOfWork, period: Period) -> list[tuple[float, str, str]]:
    return [((dispensed - requested).total_seconds() / 3600, str(category), str(site))
            for dispensed, requested, category, site in uow.reports.dispense_times(period.start, period.end)]


def _grouped(rows: list[tuple[float, str, str]], index: int) -> dict[str, Durations]:
    groups: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        groups[str(row[index])].append(row[0])
    return {key: Durations.of(values) for key, values in sorted(groups.items())}


def assessment(uow: UnitOfWork, ctx: Context, period: Period,
               relaxations: RelaxationsUsed | None = None) -> Assessment:
    summary = period_summary(uow, ctx, period)  # refusals, R11 overdue, R30: the same figures
    rows = _hours(uow, period)
    used = dict(sorted(relaxations(uow, period).items())) if relaxations is not None else None
    return Assessment(
        start=period.start, end=period.end, as_of=summary.as_of, dispenses=len(rows),
        to_dispense=Durations.of([r[0] for r in rows]), to_dispense_by_category=_grouped(rows, 1),
        to_dispense_by_site=_grouped(rows, 2), refusals=summary.refusals,
        refusals_by_rule=summary.refusals_by_rule, missed_test_windows=summary.pregnancy_tests_overdue,
        pregnancies_reported=summary.pregnancies_reported, pregnancies_by_source=summary.pregnancies_by_source,
        relaxations_used=used)


def assessment_csv(a: Assessment) -> str:
    """Long form, as summary_csv: metric, key, value (key "all" for totals; hours for times)."""
    rows: list[tuple[str, str, Any]] = [("period_start", "all", a.start), ("period_end", "all", a.end),
                                        ("as_of", "all", a.as_of), ("dispenses", "all", a.dispenses)]
    for suffix, groups in (("", {"all": a.to_dispense}), ("_by_category", a.to_dispense_by_category),
                           ("_by_site", a.to_dispense_by_site)):
        for key, d in groups.items():
            rows += [(f"dispenses_timed{suffix}", key, d.count),
                     (f"hours_to_dispense_median{suffix}", key, d.median_hours),
                     (f"hours_to_dispense_p90{suffix}", key, d.p90_hours)]
    rows += [("refusals", "all", a.refusals)]
    rows += [("refusals_by_rule", k, v) for k, v in a.refusals_by_rule.items()]
    rows += [("missed_test_windows", "all", len(a.missed_test_windows))]
    rows += [("missed_test_window", pid, 1) for pid in a.missed_test_windows]
    rows += [("pregnancies_reported", "all", a.pregnancies_reported)]
    rows += [("pregnancies_by_source", k, v) for k, v in a.pregnancies_by_source.items()]
    if a.relaxations_used is None:
        rows += [("relaxations_used", "all", "not recorded")]
    else:
        rows += [("relaxations_used", "all", sum(a.relaxations_used.values()))]
        rows += [("relaxations_used_by_name", k, v) for k, v in a.relaxations_used.items()]
    return csv_text(("metric", "key", "value"), rows)


def assessment_png(a: Assessment, by: str = "category") -> bytes:
    """Median and 90th percentile of the hours to dispense, by risk category or by site."""
    from matplotlib.figure import Figure  # seconds to import: only plots need it

    groups = a.to_dispense_by_category if by == "category" else a.to_dispense_by_site
    names = list(groups)
    figure = Figure(figsize=(9, 4), dpi=100, layout="constrained")
    axes = figure.subplots()
    x = list(range(len(names)))
    axes.bar([i - 0.2 for i in x], [groups[n].median_hours or 0 for n in names], width=0.4, label="median")
    axes.bar([i + 0.2 for i in x], [groups[n].p90_hours or 0 for n in names], width=0.4, label="90th percentile")
    if by == "site":  # pharmacy ids, as the table shows them
        axes.set_xticks(x, names, rotation=30, ha="right")
    else:
        axes.set_xticks(x, [n.replace("_", " ") for n in names])
    axes.set_ylabel("hours from prescription to dispense")
    axes.set_title(f"Time to dispense by {'risk category' if by == 'category' else 'dispensing site'}")
    if names:
        axes.legend(loc="upper left", fontsize="small")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
