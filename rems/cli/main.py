"""`rems`: every use case of the core from the command line (`rems --help`)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import typer

from rems import logs
from rems.cli import (
    actors,
    admin_patients,
    dispensing,
    lifecycle,
    notifications,
    patients,
    programs,
    reports,
    server,
    tokens,
)
from rems.cli import transfer as transfer_cli
from rems.cli.arguments import check_arguments
from rems.cli.audit import audit
from rems.cli.labs import lab
from rems.cli.output import EXIT_BAD_INPUT, emit, handle, state

app = typer.Typer(help="REMS engine: certify, enroll, gate and dispense under the REMS rules.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  rich_markup_mode=None)  # plain help: rich would double `rems --help`'s start-up
app.add_typer(actors.prescriber, name="prescriber")
app.add_typer(actors.pharmacy, name="pharmacy")
admin_patients.register(patients.patient)
app.add_typer(patients.patient, name="patient")
app.add_typer(patients.test, name="test")
app.add_typer(patients.survey, name="survey")
app.add_typer(lab, name="lab")
app.add_typer(dispensing.rx, name="rx")
app.add_typer(tokens.token, name="token")
app.add_typer(notifications.notifications, name="notifications")
app.add_typer(reports.report, name="report")
app.add_typer(audit, name="audit")
# One `rems program` group: check and diff (programs.py), export, import, verify-copy (transfer.py)
programs.program.registered_commands += transfer_cli.program.registered_commands
# ... status, set-status, uses and the relaxation sub-group (lifecycle.py, issue 17 items 4, 5)
programs.program.registered_commands += lifecycle.program.registered_commands
programs.program.registered_groups += lifecycle.program.registered_groups
app.add_typer(programs.program, name="program")
app.command("import-csv")(transfer_cli.import_csv)
for command in (dispensing.check, dispensing.confirm, dispensing.dispense, dispensing.sweep,
                patients.status, server.serve):
    app.command()(command)
app.command("seed-demo")(server.seed_demo)


@app.callback()
def main(json_output: bool = typer.Option(False, "--json", help="Print JSON."),
         actor: str = typer.Option("", "--actor", help="Who acts (recorded in the audit log).")) -> None:
    state.json, state.actor = json_output, actor


@app.command()
def init() -> None:
    """Create or upgrade the database schema (REMS_DATABASE_URL, default SQLite)."""
    application = state.get_app()
    application.migrate()
    emit({"database": application.engine.url.render_as_string(hide_password=True),
          "programs": sorted(application.programs)},
         f"database ready: {application.engine.url.render_as_string(hide_password=True)}; "
         f"programs: {', '.join(sorted(application.programs))}")


@app.command()
def diagrams(file: Path = typer.Option(Path("docs/workflows.md"), help="Markdown file to update."),
             check: bool = typer.Option(False, help="Exit 1 if the file is out of date.")) -> None:
    """Write the Mermaid diagrams of every state machine into a Markdown file."""
    from workflows.diagrams import splice
    current = file.read_text(encoding="utf-8") if file.exists() else ""
    fresh = splice(current)
    if check:
        if fresh != current:
            typer.echo(f"{file}: state machine diagrams are out of date; run `rems diagrams`", err=True)
            raise SystemExit(1)
        typer.echo(f"{file}: diagrams up to date")
        return
    file.write_text(fresh, encoding="utf-8")
    typer.echo(f"{file}: diagrams written")


@app.command()
def demo(database: Path = typer.Option(Path("var/demo.db"), help="SQLite file for the demo (recreated)."),
         ) -> None:
    """Walk an FRP patient from enrollment to a dispense, with the gate refusing each missing step."""
    from rems.cli.demo import walk
    walk(database)


# Issue 19 item 4: groups that other packages of the distribution add commands to, through the
# "rems.commands" entry point group of pyproject.toml (an entry's name is the group, its value a
# `register(group, emit)`): `notifications worker|beat|sweep` are workers/cli.py's, so rems.cli
# imports nothing of `workers` (contract `layers`).
EXTENDED = {"notifications": notifications.notifications}
_extended: set[str] = set()


def extend(argv: Sequence[str]) -> None:
    """Register the commands other packages add to the groups ARGV names, once per process. Looked
    up only then: importlib.metadata would cost every `rems --help` a sixth of its start-up."""
    wanted = {name for name in EXTENDED if name in argv} - _extended
    if not wanted:
        return
    from importlib.metadata import entry_points
    for plugin in entry_points(group="rems.commands"):
        if plugin.name in wanted:
            plugin.load()(EXTENDED[plugin.name], emit)
    _extended.update(wanted)


def run(args: list[str] | None = None) -> None:
    """The entry point: ARGS (default sys.argv) in, an exit code out (SystemExit), never a traceback."""
    logs.configure("cli", logging.WARNING, logs.new_id("cli"))  # issue 15 item 3: JSON on stderr
    check_arguments(sys.argv[1:] if args is None else args)  # issue 15 item 6: exit 2 naming the option
    extend(sys.argv[1:] if args is None else args)
    try:
        app(args=args, prog_name="rems", standalone_mode=False)
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        raise SystemExit(1) from None
    except typer.TyperException as exc:  # typer >= 0.26 raises its own click's errors (pinned in the lock)
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT) from None
    except SystemExit:
        raise
    except Exception as exc:  # the one place errors become exit codes
        handle(exc)


if __name__ == "__main__":
    run()
    sys.exit(0)
