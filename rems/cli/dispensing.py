"""CLI for prescriptions, the pharmacy check, confirmation and dispense (R19-R29, R33)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from rems.cli.output import EXIT_REFUSED, call, emit, emit_model, local, show_decision
from rems.cli.output import state as cli

if TYPE_CHECKING:
    from rems.services.dispensing.prescriptions import Outcome

rx = typer.Typer(help="Prescriptions and authorizations (R19, R22-R24).", no_args_is_help=True)


def show_outcome(outcome: Outcome) -> None:
    from rems.schemas.outputs import PrescriptionOut
    p = outcome.prescription
    shown = PrescriptionOut.outcome(outcome)
    if outcome.decision.allowed:
        emit_model(shown, f"prescription {p.id}: AUTHORIZED number {p.number} (category {p.category}, "
                          f"expires {local(p.expires_at)})")
        return
    if cli.json:
        emit_model(shown, "")
    else:
        typer.echo(f"prescription {p.id}: {p.state}, not authorized")
        show_decision(outcome.decision, "authorization")
    raise SystemExit(EXIT_REFUSED)


@rx.command("request")
def request(patient_id: str, prescriber: str = typer.Option(...),
            days_supply: int = typer.Option(..., help="R24: at most the program's limit"),
            quantity: int = typer.Option(...), refills: int = typer.Option(0),
            contraception_attested: bool = typer.Option(False, help="R15 counselling attested (FRP)"),
            prescriber_survey: bool = typer.Option(False, help="R19 prescriber survey completed now"),
            ndc: str | None = typer.Option(None, help="The product (NDC) of the patient's program; R24 uses "
                                                      "its units a day (docs/products.md)"),
            strength: str | None = typer.Option(None, help='The strength ordered, e.g. "4 mg"')) -> None:
    """Write a prescription and ask for its authorization number (kept pending if refused)."""
    from rems.services.commands import RequestAuthorization, parse
    from rems.services.dispensing import prescriptions as svc
    cmd = parse(RequestAuthorization, patient_id=patient_id, prescriber_id=prescriber,
                days_supply=days_supply, quantity=quantity, refills=refills,
                contraception_counselling_attested=contraception_attested,
                prescriber_survey_completed=prescriber_survey, ndc=ndc, strength=strength)
    show_outcome(call(svc.request_authorization, cmd))


@rx.command("authorize")
def authorize(prescription_id: str, prescriber: str = typer.Option(...)) -> None:
    """Retry the authorization of a pending prescription."""
    from rems.services.dispensing import prescriptions as svc
    show_outcome(call(svc.authorize, prescription_id, prescriber))


@rx.command("void")
def void(prescription_id: str) -> None:
    """Void a prescription and any live confirmation (audited)."""
    from rems.schemas.outputs import PrescriptionOut
    from rems.services.dispensing import prescriptions as svc
    p = call(svc.void_prescription, prescription_id)
    emit_model(PrescriptionOut.of(p), f"prescription {p.id}: {p.state}")


def check(number: str, pharmacy: str = typer.Option(..., help="Pharmacy id"),
          patient: str = typer.Option(None, help="Patient id, if the pharmacy has it")) -> None:
    """The pharmacy's check: every requirement for a confirmation, met or not."""
    from rems.services.commands import PharmacyRequest, parse
    from rems.services.dispensing import prescriptions as svc
    decision = call(svc.check, parse(PharmacyRequest, number=number, pharmacy_id=pharmacy,
                                     patient_id=patient))
    show_decision(decision, f"authorization {number}")
    if not decision.allowed:
        raise SystemExit(EXIT_REFUSED)


def confirm(number: str, pharmacy: str = typer.Option(...), patient: str = typer.Option(None)) -> None:
    """Obtain a confirmation number (R26), valid for the program's window (R27)."""
    from rems.schemas.outputs import ConfirmationOut
    from rems.services.commands import PharmacyRequest, parse
    from rems.services.dispensing import prescriptions as svc
    c = call(svc.obtain_confirmation, parse(PharmacyRequest, number=number, pharmacy_id=pharmacy,
                                            patient_id=patient))
    emit_model(ConfirmationOut.of(c), f"confirmation {c.number} (expires {local(c.expires_at)})")


def dispense(confirmation: str, pharmacy: str = typer.Option(...),
             counselled: bool = typer.Option(False, help="R29 patient counselled"),
             checklist: bool = typer.Option(False, help="R29 education checklist completed"),
             medication_guide: bool = typer.Option(False, help="R29 Medication Guide given")) -> None:
    """Record the dispense under a confirmation number; every gate is checked again."""
    from rems.schemas.outputs import DispenseOut
    from rems.services.commands import RecordDispense, parse
    from rems.services.dispensing import prescriptions as svc
    d = call(svc.record_dispense, parse(
        RecordDispense, confirmation_number=confirmation, pharmacy_id=pharmacy, counselled=counselled,
        education_checklist_completed=checklist, medication_guide_given=medication_guide))
    emit_model(DispenseOut.of(d), f"dispense {d.id} recorded {local(d.dispensed_at)}: "
                                  f"{d.days_supply}-day supply")


def sweep() -> None:
    """Expire authorizations (R23) and confirmations (R27) past their time, audited."""
    from rems.services.reminders.sweeps import expire_due
    counts = call(expire_due)
    emit(counts, ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in counts.items()))
