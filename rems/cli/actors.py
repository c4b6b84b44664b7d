"""CLI for prescribers and pharmacies (R1, R2, R3, R25)."""

from __future__ import annotations

import typer

from rems.cli.output import call, emit
from rems.services import certification
from rems.services.commands import EnrollPharmacy, EnrollPrescriber, parse

prescriber = typer.Typer(help="Prescriber enrollment and certification (R1-R3).", no_args_is_help=True)
pharmacy = typer.Typer(help="Pharmacy enrollment and certification (R25).", no_args_is_help=True)


@prescriber.command("enroll")
def enroll_prescriber(name: str = typer.Option(...), npi: str = typer.Option(..., help="10 digits"),
                      attested: bool = typer.Option(False, help="R2 attestation signed"),
                      education_reviewed: bool = typer.Option(False, help="REMS education done")) -> None:
    """Enroll a prescriber (certify next)."""
    cmd = parse(EnrollPrescriber, name=name, npi=npi, attested=attested,
                education_reviewed=education_reviewed)
    p = call(certification.enroll_prescriber, cmd)
    emit({"id": p.id, "state": p.state}, f"prescriber {p.id} enrolled ({p.state})")


@pharmacy.command("enroll")
def enroll_pharmacy(name: str = typer.Option(...), ncpdp_id: str = typer.Option(..., help="7 digits"),
                    representative_enrolled: bool = typer.Option(False),
                    staff_trained: bool = typer.Option(False),
                    records_and_audits_accepted: bool = typer.Option(False)) -> None:
    """Enroll a pharmacy through its authorized representative (certify next)."""
    cmd = parse(EnrollPharmacy, name=name, ncpdp_id=ncpdp_id,
                representative_enrolled=representative_enrolled, staff_trained=staff_trained,
                records_and_audits_accepted=records_and_audits_accepted)
    p = call(certification.enroll_pharmacy, cmd)
    emit({"id": p.id, "state": p.state}, f"pharmacy {p.id} enrolled ({p.state})")


def _certification_command(group: typer.Typer, kind: certification.Kind, trigger: str) -> None:
    def command(record_id: str = typer.Argument(..., metavar="ID")) -> None:
        record = call(certification.change_certification, kind, record_id, trigger)
        emit({"id": record.id, "state": record.state}, f"{kind} {record.id}: {record.state}")
    command.__doc__ = f"{trigger.capitalize()} a {kind} (audited)."
    group.command(trigger)(command)


for _trigger in certification.TRIGGERS:
    _certification_command(prescriber, "prescriber", _trigger)
    _certification_command(pharmacy, "pharmacy", _trigger)

