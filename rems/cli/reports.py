"""`rems report`: the program's compliance reports as text, JSON or CSV, and their plots (issue 6)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from rems.cli.output import as_json, call, local
from rems.cli.output import state as cli

report = typer.Typer(help="Compliance reports (text, JSON or CSV) and their plots. Periods are "
                          "[start, end); a date is its UTC midnight, a time needs its offset (T1).",
                     no_args_is_help=True)
# T1: a time without an offset is refused (typer names the option), never silently read as UTC.
_DATES = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"]


class Format(StrEnum):
    text = "text"
    json = "json"
    csv = "csv"


def _start() -> Any:
    return typer.Option(..., formats=_DATES, help="First moment: a date (UTC midnight) or a time with offset")


def _end() -> Any:
    return typer.Option(..., formats=_DATES, help="End, excluded: a date (UTC midnight) or a time with offset")


def _format() -> Any:
    return typer.Option(Format.text, "--format", help="text, json or csv (--json implies json)")


def _out() -> Any:
    return typer.Option(None, "--out", help="Write to this file instead of printing")


def _deliver(text: str, out: Path | None) -> None:
    if out is None:
        typer.echo(text.rstrip("\n"))
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"written to {out}", err=True)


def _chosen(fmt: Format) -> Format:
    return Format.json if cli.json else fmt


def _json(data: Any) -> str:
    return as_json(data) + "\n"


@report.command("period")
def period(start: datetime = _start(), end: datetime = _end(), fmt: Format = _format(),
           out: Path = _out()) -> None:
    """Dispenses, refusals by rule id, authorizations expired unused, pregnancy tests overdue
    (R11), pregnancies reported (R30)."""
    from rems.services import reports
    summary = call(reports.period_summary, reports.Period.of(start, end))
    chosen = _chosen(fmt)
    if chosen is Format.json:
        _deliver(_json(asdict(summary)), out)
    elif chosen is Format.csv:
        _deliver(reports.summary_csv(summary), out)
    else:
        s = summary
        lines = [f"period {s.start:%Y-%m-%d %H:%M} to {s.end:%Y-%m-%d %H:%M} UTC (overdue as of "
                 f"{local(s.as_of)})",
                 f"dispenses: {s.dispenses} {_pairs(s.dispenses_by_category)}",
                 f"authorizations issued: {s.authorizations_issued}; expired unused (R23): "
                 f"{s.authorizations_expired_unused}",
                 f"refused gates: {s.refusals} {_pairs(s.refusals_by_stage)}",
                 f"refusals by rule: {_pairs(s.refusals_by_rule) or '-'}",
                 f"pregnancy tests overdue (R11): {len(s.pregnancy_tests_overdue)} "
                 f"{' '.join(s.pregnancy_tests_overdue)}",
                 f"pregnancies reported (R30): {s.pregnancies_reported} {_pairs(s.pregnancies_by_source)}"]
        _deliver("\n".join(lines) + "\n", out)


def _pairs(counts: dict[str, int]) -> str:
    return " ".join(f"{k}={v}" for k, v in counts.items())


def _records(rows: list[Any], kind: type[Any], fmt: Format, out: Path | None) -> None:
    from rems.services import reports
    chosen = _chosen(fmt)
    if chosen is Format.json:
        _deliver(_json([asdict(r) for r in rows]), out)
    elif chosen is Format.csv:
        _deliver(reports.records_csv(rows, kind), out)
    else:
        _deliver(reports.records_csv(rows, kind).replace(",", "  "), out)


@report.command("prescribers")
def prescribers(start: datetime = _start(), end: datetime = _end(), fmt: Format = _format(),
                out: Path = _out()) -> None:
    """Per prescriber: authorizations, refused gates, late patient surveys (R20), certification."""
    from rems.services import reports
    rows = call(reports.prescriber_compliance, reports.Period.of(start, end))
    _records(rows, reports.PrescriberCompliance, fmt, out)


@report.command("pharmacies")
def pharmacies(start: datetime = _start(), end: datetime = _end(), fmt: Format = _format(),
               out: Path = _out()) -> None:
    """Per pharmacy: dispenses, refused gates, certification lapses (R25)."""
    from rems.services import reports
    rows = call(reports.pharmacy_compliance, reports.Period.of(start, end))
    _records(rows, reports.PharmacyCompliance, fmt, out)


@report.command("history")
def history(patient_id: str, fmt: Format = _format(), out: Path = _out()) -> None:
    """One patient's full history, in order, as the audit trail tells it (ids only)."""
    from rems.services import reports
    found = call(reports.patient_history, patient_id)
    if _chosen(fmt) is Format.json:
        _deliver(_json(asdict(found)), out)
    else:
        _records(found.entries, reports.HistoryEntry, fmt, out)


@report.command("plot")
def plot(start: datetime = _start(), end: datetime = _end(),
         out: Path = typer.Option(..., "--out", help="Directory for refusals.png and dispenses.png"),
         bucket_days: int = typer.Option(None, min=1, max=366, help="Days per bar (default: by length)"),
         ) -> None:
    """PNG plots: refused gates by rule id over time, dispenses over time."""
    from rems.services import reports
    series = call(reports.activity_series, reports.Period.of(start, end), bucket_days)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in reports.KINDS:
        path = out / f"{kind}.png"
        path.write_bytes(reports.plot_png(series, kind))
        written.append(str(path))
    typer.echo(json.dumps({"written": written}) if cli.json else "\n".join(written))
