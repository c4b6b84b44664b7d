"""`rems program export|import|verify-copy` and `rems import-csv` (issue 17 item 8;
docs/export-import.md): thin translations into the transfer services."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer

from rems.cli.audit import EXIT_TAMPERED
from rems.cli.output import EXIT_REFUSED, call, emit, fail, state
from rems.domain.errors import InvalidInput

if TYPE_CHECKING:
    from rems.services.context import Context, Service
    from rems.services.ports import UnitOfWork
    from rems.services.transfer.proof import Proof

T = TypeVar("T")
P = ParamSpec("P")
# Documented in docs/export-import.md: the copy's gate answers differ from the export's.
EXIT_COPY_DIFFERS = 8

program = typer.Typer(help="A program's whole state: export it, import it into an empty engine, "
                           "prove the copy.", no_args_is_help=True)


@program.command("export")
def export(program_id: str = typer.Argument(..., help="The program (its file's id)"),
           directory: Path = typer.Argument(..., help="A new or empty directory for the files")) -> None:
    """Write one NDJSON file per entity, the audit chain and the gate's answers, and manifest.json."""
    from rems.services.transfer import export as exporting
    from rems.services.transfer import format as files
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise InvalidInput("DIR", f"{directory} exists and is not an empty directory")
    try:
        bundle = _read_only(exporting.export_program, program_id)  # `now` here: the export's instant
    except exporting.ChainBroken as broken:
        fail(EXIT_TAMPERED, "audit_chain_broken", str(broken), broken.verification.as_dict())
        raise
    files.write(bundle, directory)
    manifest = bundle.manifest
    call(exporting.record_export, program_id, exporting.files_digest(bundle), manifest["chain"]["head"]["seq"])
    counts = ", ".join(f"{name} {n}" for name, n in manifest["counts"].items() if n)
    emit(manifest, f"program {program_id} exported to {directory} at {manifest['exported_at']}: {counts}; "
                   f"chain {manifest['chain']['scope']} to head {manifest['chain']['head']['seq']}")


def _read(directory: Path) -> Any:
    from rems.services.transfer import format as files
    return files.read(directory)  # every file against the manifest, naming file and line


def _show(proof: Proof, verb: str) -> None:
    chain = proof.chain
    human = [f"{verb}: chain ({chain['scope']}) of the source to head {chain['source_head']['seq']} "
             f"verified; this engine's chain: {'intact' if chain['copy']['ok'] else 'BROKEN'}; "
             f"{proof.entries_matched} exported entries held; gate replayed on "
             f"{proof.gate_checked} open authorization(s)"]
    human += [f"  problem: {problem}" for problem in proof.problems]
    if proof.ok:
        emit(proof.as_dict(), "\n".join([*human, "  the copy is proven"]))
        return
    code = EXIT_TAMPERED if not chain["copy"]["ok"] else EXIT_COPY_DIFFERS
    if state.json:
        emit(proof.as_dict())
    else:
        typer.echo("\n".join(human), err=True)
    raise SystemExit(code)


@program.command("import")
def import_(directory: Path = typer.Argument(..., help="A directory written by `rems program export`")
            ) -> None:
    """Into an EMPTY engine, all or nothing; then prove the copy (as verify-copy)."""
    from rems.services.transfer import load, proof
    bundle = _read(directory)
    done = call(load.import_program, bundle)
    typer.echo(f"imported program {done.program_id}: " + ", ".join(
        f"{name} {n}" for name, n in done.counts.items() if n), err=state.json)
    _show(_read_only(proof.prove, bundle), "proof")


@program.command("verify-copy")
def verify_copy(directory: Path = typer.Argument(..., help="The export this engine was imported from")
                ) -> None:
    """Prove this engine is a copy of the export: the chain, the counts, the gate's answers at the
    export's instant. Exit 7 if a chain does not verify, 8 if anything else differs."""
    from rems.services.transfer import proof
    _show(_read_only(proof.prove, _read(directory)), "verify-copy")


def _context(uow: UnitOfWork, ctx: Context) -> Context:
    return ctx


def _read_only(service: Service[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """A service that only reads, in a read-only unit of work (on SQLite it never takes the write
    lock, so writers are not held up by an export or a proof), with the CLI's actor and clock."""
    ctx = call(_context)
    with state.get_app().uow(write=False) as uow:
        return service(uow, ctx, *args, **kwargs)


def import_csv(kind: str = typer.Argument(..., help="prescribers, pharmacies or patients"),
               file: Path = typer.Argument(..., help="A CSV file with a header row (UTF-8)"),
               dry_run: bool = typer.Option(False, "--dry-run", help="Report every row that would be "
                                                                   "refused, and write nothing"),
               program_id: str = typer.Option(None, "--program", help="Where to certify and enroll "
                                                                     "(default: the one program loaded)")
               ) -> None:
    """Bulk import of existing enrollments, every row through the ordinary use cases; all or nothing."""
    from rems.adapters.csv_batch import Batch
    from rems.services.enrollment import certification
    from rems.services.transfer.csv_import import import_csv
    application = state.get_app()
    chosen = certification.program_of(application.programs, program_id,
                                      application.settings.default_program, "--program")
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidInput("FILE", f"cannot read {file}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidInput("FILE", f"{file} is not UTF-8 text") from None
    ctx = call(_context)
    with Batch(application.sessions, application.programs) as batch:
        report = import_csv(batch, ctx, kind, text, chosen, dry_run)
    lines = [f"row {r.row}, {r.field}: {r.reason}" for r in report.refused]
    if report.refused:
        verdict = "dry run: " if dry_run else "nothing written: "
        if state.json:
            emit(report.as_dict())
        else:
            typer.echo("\n".join([f"{verdict}{len(report.refused)} of {report.rows} row(s) refused", *lines]),
                       err=True)
        raise SystemExit(EXIT_REFUSED)
    done = "would be accepted (dry run, nothing written)" if dry_run else "imported"
    emit(report.as_dict(), f"{kind}: {len(report.accepted)} of {report.rows} row(s) {done} into {chosen}")
