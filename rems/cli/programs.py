"""`rems program`: check a program file, and compare a new version with today's patients (issue 17)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from rems.cli.output import EXIT_BAD_INPUT, call, emit, fail
from rems.cli.output import state as cli

program = typer.Typer(help="Programs: check a program file (the linter), compare a new version with today's "
                           "patients before it takes effect, export a program's whole state and import it "
                           "into an empty engine.", no_args_is_help=True)


def _load(file: Path) -> Any:
    from workflows.program import ProgramError, parse_program
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        fail(EXIT_BAD_INPUT, "invalid_input", f"{file}: cannot read it ({error.strerror})", {"field": "FILE"})
    try:
        return parse_program(text, file.name)
    except ProgramError as error:
        fail(EXIT_BAD_INPUT, "invalid_program", str(error), {"file": str(file), "field": error.field,
                                                             "reason": error.reason})


@program.command("check")
def check(file: Path = typer.Argument(..., help="The program file (TOML)")) -> None:
    """Name file, requirement and field for anything incomplete, inconsistent or unsafe (T4), and
    print the requirement table. Exit 2 when the file does not load or has an error finding."""
    from workflows import lint
    loaded = _load(file)
    findings, rows = lint.check(loaded), lint.table(loaded)
    errors = [f for f in findings if f.level == "error"]
    if cli.json:
        emit({"file": str(file), "program": loaded.id, "ok": not errors,
              "findings": [f.__dict__ for f in findings], "requirements": rows})
    else:
        typer.echo(f"{file}: {loaded.id} ({loaded.name}), {len(rows)} requirements")
        widths = {k: max(len(k), *(len(r[k]) for r in rows)) for k in rows[0]} if rows else {}
        columns = ["id", "kind", "rule", "fda_code", "applies_to", "stages", "in_force"]
        if rows:
            typer.echo("  " + "  ".join(c.ljust(widths[c]) for c in columns))
            for row in rows:
                typer.echo("  " + "  ".join(row[c].ljust(widths[c]) for c in columns))
        for f in findings:
            typer.echo(f"{file}: {f.level}: {f.field}: {f.message}")
        typer.echo(f"{file}: {'FAILED' if errors else 'ok'} ({len(errors)} errors, "
                   f"{sum(f.level == 'warning' for f in findings)} warnings)")
    if errors:
        raise SystemExit(EXIT_BAD_INPUT)


@program.command("diff")
def diff(file: Path = typer.Argument(..., help="The new version's program file (same id as a running program)"),
         on: datetime = typer.Option(None, "--on", formats=["%Y-%m-%d"],
                                     help="The date to compare (default: the new version's first change)"),
         changed_only: bool = typer.Option(True, "--changed-only/--all", help="Hide unchanged patients")) -> None:
    """Replay today's patients under the version in force and under FILE on its date: per patient,
    which requirements change and who would be refused or freed. Writes nothing."""
    from rems.services.programs.program_diff import diff_program
    candidate = _load(file)
    changes = call(diff_program, candidate, on.date() if on else None)
    shown = [c for c in changes if not changed_only or c.outcome != "unchanged"]
    if cli.json:
        emit({"program": candidate.id, "patients": len({c.patient_id for c in changes}),
              "changes": [c.as_dict() for c in shown]})
        return
    counts: dict[str, int] = {}
    for c in changes:
        counts[c.outcome] = counts.get(c.outcome, 0) + 1
    typer.echo(f"{candidate.id} on {changes[0].on if changes else on}: {len({c.patient_id for c in changes})} "
               f"patients, {len(changes)} checks (readiness and open authorizations): "
               + (", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "none"))
    for c in shown:
        typer.echo(f"  {c.patient_id} {c.subject} ({c.stage}): {c.outcome}")
        for label, items in (("checks added", c.added), ("checks removed", c.removed),
                             ("newly failing", c.newly_failing), ("no longer failing", c.no_longer_failing)):
            if items:
                typer.echo(f"      {label}: {', '.join(items)}")
