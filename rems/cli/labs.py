"""CLI for lab results other than hCG (issue 17 item 1: ALT, AST, ANC, bilirubin)."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from rems.cli.output import call, emit, emit_model, instant, local

lab = typer.Typer(help="Lab results: ALT, AST, ANC, bilirubin (the lab-test requirement kind).",
                  no_args_is_help=True)


@lab.command("record")
def record(patient_id: str, analyte: str = typer.Option(..., help="ALT, AST, ANC or bilirubin"),
           value: str = typer.Option(..., help="the value as reported (finite, not negative)"),
           unit: str = typer.Option(..., help="e.g. U/L, mg/dL, cells/uL"),
           uln: str = typer.Option(None, help="the laboratory's upper limit of normal (ALT, AST, bilirubin: required)"),
           lower_limit: str = typer.Option(None, help="the laboratory's lower limit of normal"),
           collected_at: str = typer.Option(None, help="ISO time with a UTC offset (T1: refused without); default now"),
           setting: str = typer.Option("lab", help="lab, office or home")) -> None:
    """Record a lab result of a patient."""
    from rems.schemas.labs import LabResultOut
    from rems.services.commands import parse
    from rems.services.enrollment import labs as svc
    cmd = parse(svc.RecordLabResult, patient_id=patient_id, analyte=analyte, value=value, unit=unit,
                upper_limit_normal=uln, lower_limit=lower_limit, setting=setting,
                collected_at=instant(collected_at, "--collected-at", "collected_at") or datetime.now(UTC))
    r = call(svc.record_lab_result, cmd)
    emit_model(LabResultOut.of(r), f"lab result {r.id}: {r.analyte} {r.value} {r.unit}, "
                                   f"collected {local(r.collected_at)}")


@lab.command("list")
def list_results(patient_id: str) -> None:
    """A patient's lab results, in collection order."""
    from rems.schemas.labs import LabResultOut
    from rems.services.context import Context
    from rems.services.enrollment import labs as svc
    from rems.services.ports import UnitOfWork

    def rendered(uow: UnitOfWork, ctx: Context, key: str) -> list[LabResultOut]:
        return [LabResultOut.of(r) for r in svc.lab_results(uow, ctx, key)]  # inside the unit of work
    rows = call(rendered, patient_id)
    emit([r.model_dump(mode="json") for r in rows],
         "\n".join(f"{r.id} {r.analyte} {r.value} {r.unit} (ULN {r.upper_limit_normal}) collected "
                   f"{local(r.collected_at)}" for r in rows) or "no lab results")
