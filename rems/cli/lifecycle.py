"""`rems program`: a program's lifecycle status (issue 17 item 4), its declared relaxations
(item 5: activate, approve by a second administrator, revoke) and the reconciliation list."""

from __future__ import annotations

from datetime import date

import typer

from rems.cli.output import call, emit, emit_model, local
from rems.domain.errors import InvalidInput

program = typer.Typer(help="Program lifecycle status and declared relaxations (administrator).",
                      no_args_is_help=True)
relaxation = typer.Typer(help="Declared relaxations: activate, approve (a second administrator), "
                              "revoke, list.", no_args_is_help=True)
program.add_typer(relaxation, name="relaxation")
PROGRAM = typer.Argument(..., help="Program id, e.g. pomalidomide")


@program.command("status")
def status(program_id: str = PROGRAM) -> None:
    """The state in force now, the file's [[lifecycle]] blocks and the recorded changes."""
    from rems.services.programs import program_status
    shown = call(program_status.describe, program_id)
    since = f" since {shown['effective_from']}" if shown["effective_from"] else ""
    lines = [f"{shown['program']}: {shown['state']}{since} ({shown['source']}) {shown['reason']}".rstrip()]
    lines += [f"  file:     {e['effective_from']} {e['state']}: {e['reason']}" for e in shown["declared"]]
    lines += [f"  recorded: {c['effective_from']} {c['state']} by {c['actor']}: {c['reason']}"
              for c in shown["recorded"]]
    lines += [f"  relaxation {r['name']}: waives {', '.join(r['waives'])}; at most {r['max_days_supply']} "
              f"days' supply, {r['max_hours']} h" for r in shown["relaxations"]]
    emit(shown, "\n".join(lines))


@program.command("set-status")
def set_status(program_id: str = PROGRAM,
               state: str = typer.Option(..., help="closed_to_new_enrollment, enforcement_discretion or "
                                                   "eliminated (forward only)"),
               effective_from: str = typer.Option(..., help="YYYY-MM-DD, from midnight in the program's zone"),
               reason: str = typer.Option(..., help="Why (e.g. the FDA action)")) -> None:
    """Record a lifecycle change, audited with the actor (--actor) and the reason."""
    from rems.schemas.programs import StatusChangeOut
    from rems.services.programs import program_status
    try:
        day = date.fromisoformat(effective_from.strip())
    except ValueError:
        raise InvalidInput("effective_from", "--effective-from is not a date (YYYY-MM-DD)") from None
    c = call(program_status.record_change, program_id, state, day, reason)
    emit_model(StatusChangeOut.of(c), f"{c.program_id}: {c.state} from {c.effective_from} (change {c.id})")


@program.command("uses")
def uses(program_id: str = PROGRAM,
         waiver: str = typer.Option(None, help="Only this waiver (enforcement_discretion or a relaxation)")) -> None:
    """Reconciliation: every gate decision allowed by enforcement discretion or a relaxation."""
    from rems.schemas.programs import WaiverUseOut
    from rems.services.programs import program_status
    found = call(lambda uow, ctx: [WaiverUseOut.of(u) for u in program_status.uses(uow, ctx, program_id,
                                                                                 waiver)])
    emit([u.model_dump(mode="json") for u in found],
         "\n".join(f"{local(u.at)} {u.stage:<9} {u.prescription_id} {u.waiver}: {', '.join(u.codes)}"
                   f" (by {u.actor})" for u in found) or "no waiver uses")


def _show(act: object, what: str) -> None:
    from rems.domain.lifecycle import RelaxationActivation
    from rems.schemas.programs import ActivationOut
    assert isinstance(act, RelaxationActivation)
    emit_model(ActivationOut.of(act), f"relaxation {act.name} ({act.id}) {what}; ends {local(act.ends_at)}")


@relaxation.command("activate")
def activate(program_id: str = PROGRAM, name: str = typer.Argument(..., help="A declared relaxation"),
             reason: str = typer.Option(..., help="Why the program's systems cannot be used"),
             hours: int = typer.Option(None, help="Shorter than the declared max_hours")) -> None:
    """Activate a relaxation the program file declares; in force once a second administrator approves."""
    from rems.services.programs import relaxations
    _show(call(relaxations.activate, program_id, name, reason, hours), "activated, awaiting approval")


@relaxation.command("approve")
def approve(program_id: str = PROGRAM, activation_id: str = typer.Argument(...)) -> None:
    """Approve an activation (--actor must differ from the one who activated it)."""
    from rems.services.programs import relaxations
    _show(call(relaxations.approve, program_id, activation_id), "approved: in force")


@relaxation.command("revoke")
def revoke(program_id: str = PROGRAM, activation_id: str = typer.Argument(...)) -> None:
    from rems.services.programs import relaxations
    _show(call(relaxations.revoke, program_id, activation_id), "revoked")


@relaxation.command("list")
def list_activations(program_id: str = PROGRAM) -> None:
    """Every activation, oldest first."""
    from rems.schemas.programs import ActivationOut
    from rems.services.programs import relaxations
    found = call(lambda uow, ctx: [ActivationOut.of(a) for a in relaxations.activations(uow, ctx, program_id)])
    emit([a.model_dump(mode="json") for a in found],
         "\n".join(f"{a.id} {a.name}: by {a.activated_by} {local(a.activated_at)}, approved by "
                   f"{a.approved_by or '-'}, revoked {local(a.revoked_at)}, ends {local(a.ends_at)}"
                   for a in found) or "no activations")
