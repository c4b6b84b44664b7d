"""`rems audit`: a record's audit trail, the hash chain's verification, and its head (issue 6)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from rems.cli.output import call, emit, fail, local, utc
from rems.domain.errors import InvalidInput

if TYPE_CHECKING:
    from rems.services.audit import audit_verify
    from rems.services.context import Context
    from rems.services.ports import UnitOfWork

# Documented in docs/cli.md: the audit chain does not verify (an entry altered, inserted, removed).
EXIT_TAMPERED = 7

audit = typer.Typer(help="The audit trail: show a record's entries, verify the hash chain, export "
                         "its head.", no_args_is_help=True)


@audit.command("show")
def show(entity: str = typer.Argument(..., help="prescriber, pharmacy, patient, prescription, "
                                                 "confirmation, pregnancy_testing, gate, api, …"),
         entity_id: str = typer.Argument(...)) -> None:
    """The audit trail of one record, oldest first (the API's entries: GET /v1/admin/audit/…)."""
    from rems.schemas.outputs import AuditEntryOut

    def trail(uow: UnitOfWork, ctx: Context) -> list[AuditEntryOut]:
        return [AuditEntryOut.of(a) for a in uow.audit_trails.of(entity, entity_id)]
    rows = call(trail)
    emit([r.model_dump(mode="json") for r in rows],
         "\n".join(f"{local(r.at)} {r.actor:<16} {r.trigger:<18} {_change(r.from_state, r.to_state)} "
                   f"{' '.join(reason.code for reason in r.reasons)}".rstrip() for r in rows)
         or "(no entries)")


def _change(before: str | None, after: str | None) -> str:
    """A state change for a person: a new record has no state before, an event changes none."""
    if before is None and after is None:
        return "(no state change)"
    if before is None:
        return f"created as {after}"
    return f"{before} -> {after}" if after != before else f"stays {before}"


def _read_head(path: Path) -> audit_verify.Head:
    from rems.services.audit import audit_verify
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InvalidInput("--head", f"cannot read {path}: {error.strerror}") from None
    except ValueError:
        raise InvalidInput("--head", f"{path} is not JSON written by `rems audit head`") from None
    return audit_verify.Head.parse(data)


def _broken(result: audit_verify.Verification) -> None:
    finding = result.finding
    assert finding is not None
    where = f"entry {finding.seq}" if finding.seq is not None else "the chain"
    row = f" (audit_log id {finding.entry_id})" if finding.entry_id is not None else ""
    fail(EXIT_TAMPERED, "audit_chain_broken", f"audit chain broken at {where}{row}: {finding.kind}: "
         f"{finding.detail}", result.as_dict())


@audit.command("verify")
def verify(head: Path = typer.Option(None, "--head", help="A head exported by `rems audit head`: "
                                                           "also fail if the chain no longer holds it")
           ) -> None:
    """Walk the hash chain; exit 7 naming the first entry altered, inserted or removed."""
    from rems.services.audit import audit_verify
    anchor = _read_head(head) if head is not None else None
    result = call(audit_verify.verify, anchor)
    if not result.ok:
        _broken(result)
    emit(result.as_dict(), f"audit chain intact: {result.entries} entries, head {result.head.seq} "
                           f"{result.head.hash}" + (f"; holds the head of {head}" if head else ""))


@audit.command("head")
def export_head(out: Path = typer.Option(None, "--out", help="Write the head to this file as JSON")
                ) -> None:
    """Verify the chain and print (or write) its head: keep it elsewhere, check with verify --head."""
    from rems.services.audit import audit_verify
    result = call(audit_verify.head)
    if not result.ok:
        _broken(result)
    document = {**result.head.as_dict(), "exported_at": utc(datetime.now(UTC))}
    if out is not None:
        out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    emit(document, f"audit chain head: {result.head.seq} {result.head.hash}"
                   + (f" (written to {out})" if out else ""))
