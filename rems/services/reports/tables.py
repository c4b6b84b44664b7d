"""Reports as rows for CSV: one header, one line per row, cells safe for spreadsheets."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import asdict, fields, is_dataclass
from datetime import datetime
from typing import Any

from rems.services.reports.history import HistoryEntry, PatientHistory
from rems.services.reports.summary import PeriodSummary


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    text = str(value)
    # A cell starting with = + - @ is a formula to a spreadsheet: never let data run as one.
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return out.getvalue()


def records_csv(records: Sequence[Any], kind: type[Any]) -> str:
    """Dataclass records, one per line, their fields as columns."""
    assert is_dataclass(kind)
    header = [f.name for f in fields(kind)]
    return csv_text(header, ([asdict(r)[name] for name in header] for r in records))


def summary_csv(summary: PeriodSummary) -> str:
    """Long form: metric, key, value (key "all" for totals)."""
    rows: list[tuple[str, str, Any]] = [
        ("period_start", "all", summary.start), ("period_end", "all", summary.end),
        ("as_of", "all", summary.as_of), ("dispenses", "all", summary.dispenses)]
    rows += [("dispenses_by_category", k, v) for k, v in summary.dispenses_by_category.items()]
    rows += [("authorizations_issued", "all", summary.authorizations_issued),
             ("authorizations_expired_unused", "all", summary.authorizations_expired_unused),
             ("refusals", "all", summary.refusals)]
    rows += [("refusals_by_stage", k, v) for k, v in summary.refusals_by_stage.items()]
    rows += [("refusals_by_rule", k, v) for k, v in summary.refusals_by_rule.items()]
    rows += [("pregnancy_tests_overdue", "all", len(summary.pregnancy_tests_overdue))]
    rows += [("pregnancy_test_overdue", pid, 1) for pid in summary.pregnancy_tests_overdue]
    rows += [("pregnancies_reported", "all", summary.pregnancies_reported)]
    rows += [("pregnancies_by_source", k, v) for k, v in summary.pregnancies_by_source.items()]
    return csv_text(("metric", "key", "value"), rows)


def history_csv(history: PatientHistory) -> str:
    return records_csv(history.entries, HistoryEntry)
