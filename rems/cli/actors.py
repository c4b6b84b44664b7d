"""CLI for prescribers and pharmacies (R1, R2, R3, R25)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import typer

from rems.cli.output import call, emit_model, local, state
from rems.domain.catalogue import CERTIFICATION_TRIGGERS

if TYPE_CHECKING:
    from rems.services.context import Context
    from rems.services.ports import UnitOfWork

Kind = Literal["prescriber", "pharmacy"]
# rems.services.enrollment.certification.TRIGGERS, from the catalogue so that `rems --help` loads no
# service (tests/unit/test_cli_lazy.py keeps the two equal).
TRIGGERS = CERTIFICATION_TRIGGERS

prescriber = typer.Typer(help="Prescriber enrollment and certification (R1-R3).", no_args_is_help=True)
pharmacy = typer.Typer(help="Pharmacy enrollment and certification (R25).", no_args_is_help=True)


@prescriber.command("enroll")
def enroll_prescriber(name: str = typer.Option(...), npi: str = typer.Option(..., help="10 digits"),
                      attested: bool = typer.Option(False, help="R2 attestation signed"),
                      education_reviewed: bool = typer.Option(False, help="REMS education done"),
                      office_phone: str = typer.Option(None, help="Office phone, international (+1 555 010 0123)"),
                      office_email: str = typer.Option(None, help="Office e-mail address")) -> None:
    """Enroll a prescriber (certify next); the office's contact details are never logged."""
    from rems.schemas.outputs import PrescriberOut
    from rems.services.commands import EnrollPrescriber, parse
    from rems.services.enrollment import certification
    cmd = parse(EnrollPrescriber, name=name, npi=npi, attested=attested,
                education_reviewed=education_reviewed, office_phone=office_phone, office_email=office_email)
    p = call(certification.enroll_prescriber, cmd)
    emit_model(PrescriberOut.of(p), f"prescriber {p.id} enrolled (certify next, per program)")


@pharmacy.command("enroll")
def enroll_pharmacy(name: str = typer.Option(...), ncpdp_id: str = typer.Option(..., help="7 digits"),
                    representative_enrolled: bool = typer.Option(False),
                    staff_trained: bool = typer.Option(False),
                    records_and_audits_accepted: bool = typer.Option(False)) -> None:
    """Enroll a pharmacy through its authorized representative (certify next)."""
    from rems.schemas.outputs import PharmacyOut
    from rems.services.commands import EnrollPharmacy, parse
    from rems.services.enrollment import certification
    cmd = parse(EnrollPharmacy, name=name, ncpdp_id=ncpdp_id,
                representative_enrolled=representative_enrolled, staff_trained=staff_trained,
                records_and_audits_accepted=records_and_audits_accepted)
    p = call(certification.enroll_pharmacy, cmd)
    emit_model(PharmacyOut.of(p), f"pharmacy {p.id} enrolled (certify next, per program)")


def _program(program: str | None) -> str:
    """R1, R25: the program named, or the default where it is the only program loaded (else exit 2)."""
    from rems.services.enrollment import certification
    app = state.get_app()
    return certification.program_of(app.programs, program, app.settings.default_program, "--program")


PROGRAM_HELP = "REMS program of the certification (required unless a single program is loaded)"


def _certification_command(group: typer.Typer, kind: Kind, trigger: str) -> None:
    def command(record_id: str = typer.Argument(..., metavar="ID"),
                program: str | None = typer.Option(None, "--program", help=PROGRAM_HELP)) -> None:
        from rems.schemas.outputs import CertificationOut
        from rems.services.enrollment import certification
        c = call(certification.change_certification, kind, record_id, trigger, _program(program))
        emit_model(CertificationOut.of(c), f"{kind} {c.holder_id} in {c.program_id}: {c.state}")
    command.__doc__ = f"{trigger.capitalize()} a {kind} in one program (audited; R1, R3, R25)."
    group.command(trigger)(command)


def _show_command(group: typer.Typer, kind: Kind) -> None:
    def read(uow: UnitOfWork, ctx: Context, record_id: str) -> Any:
        from rems.schemas.outputs import PharmacyOut, PrescriberOut
        from rems.services.views import queries
        if kind == "prescriber":
            return PrescriberOut.found(queries.prescriber(uow, ctx, record_id))
        return PharmacyOut.found(queries.pharmacy(uow, ctx, record_id))

    def command(record_id: str = typer.Argument(..., metavar="ID")) -> None:
        shown = call(read, record_id)
        lines = [f"{kind} {shown.id}: {shown.name}"] + (
            [f"  {c.program_id:<14} {c.state:<10} "
             f"{'certified ' + local(c.certified_at) if c.certified_at else ''}".rstrip()
             for c in shown.certifications] or ["  not certified in any program"])
        emit_model(shown, "\n".join(lines))
    command.__doc__ = f"Show a {kind} and its certification in each program (R1, R25)."
    group.command("show")(command)


for _trigger in TRIGGERS:
    _certification_command(prescriber, "prescriber", _trigger)
    _certification_command(pharmacy, "pharmacy", _trigger)
_show_command(prescriber, "prescriber")
_show_command(pharmacy, "pharmacy")
