"""CLI for prescriptions, the pharmacy check, confirmation and dispense (R19-R29, R33)."""

from __future__ import annotations

import typer

from rems.cli.output import EXIT_REFUSED, call, emit, show_decision
from rems.cli.output import state as cli
from rems.services import prescriptions as svc
from rems.services.commands import PharmacyRequest, RecordDispense, RequestAuthorization, parse
from rems.services.sweeps import expire_due

rx = typer.Typer(help="Prescriptions and authorizations (R19, R22-R24).", no_args_is_help=True)


def show_outcome(outcome: svc.Outcome) -> None:
    p = outcome.prescription
    if outcome.decision.allowed:
        emit({"id": p.id, "state": p.state, "number": p.number, "category": p.category,
              "expires_at": p.expires_at},
             f"prescription {p.id}: AUTHORIZED number {p.number} (category {p.category}, "
             f"expires {p.expires_at:%Y-%m-%d %H:%M} UTC)")
        return
    if cli.json:
        emit({"id": p.id, "state": p.state, **outcome.decision.as_dict()})
    else:
        typer.echo(f"prescription {p.id}: {p.state}, not authorized")
        show_decision(outcome.decision, "authorization")
    raise SystemExit(EXIT_REFUSED)


@rx.command("request")
def request(patient_id: str, prescriber: str = typer.Option(...),
            days_supply: int = typer.Option(..., help="R24: at most the program's limit"),
            quantity: int = typer.Option(...), refills: int = typer.Option(0),
            contraception_attested: bool = typer.Option(False, help="R15 counselling attested (FRP)"),
            prescriber_survey: bool = typer.Option(False, help="R19 prescriber survey completed now")) -> None:
    """Write a prescription and ask for its authorization number (kept pending if refused)."""
    cmd = parse(RequestAuthorization, patient_id=patient_id, prescriber_id=prescriber,
                days_supply=days_supply, quantity=quantity, refills=refills,
                contraception_counselling_attested=contraception_attested,
                prescriber_survey_completed=prescriber_survey)
    show_outcome(call(svc.request_authorization, cmd))


@rx.command("authorize")
def authorize(prescription_id: str, prescriber: str = typer.Option(...)) -> None:
    """Retry the authorization of a pending prescription."""
    show_outcome(call(svc.authorize, prescription_id, prescriber))


@rx.command("void")
def void(prescription_id: str) -> None:
    """Void a prescription and any live confirmation (audited)."""
    p = call(svc.void_prescription, prescription_id)
    emit({"id": p.id, "state": p.state}, f"prescription {p.id}: {p.state}")


def check(number: str, pharmacy: str = typer.Option(..., help="Pharmacy id"),
          patient: str = typer.Option(None, help="Patient id, if the pharmacy has it")) -> None:
    """The pharmacy's check: every requirement for a confirmation, met or not."""
    decision = call(svc.check, parse(PharmacyRequest, number=number, pharmacy_id=pharmacy,
                                     patient_id=patient))
    show_decision(decision, f"authorization {number}")
    if not decision.allowed:
        raise SystemExit(EXIT_REFUSED)


def confirm(number: str, pharmacy: str = typer.Option(...), patient: str = typer.Option(None)) -> None:
    """Obtain a confirmation number (R26), valid for the program's window (R27)."""
    c = call(svc.obtain_confirmation, parse(PharmacyRequest, number=number, pharmacy_id=pharmacy,
                                            patient_id=patient))
    emit({"number": c.number, "expires_at": c.expires_at},
         f"confirmation {c.number} (expires {c.expires_at:%Y-%m-%d %H:%M} UTC)")


def dispense(confirmation: str, pharmacy: str = typer.Option(...),
             counselled: bool = typer.Option(False, help="R29 patient counselled"),
             checklist: bool = typer.Option(False, help="R29 education checklist completed"),
             medication_guide: bool = typer.Option(False, help="R29 Medication Guide given")) -> None:
    """Record the dispense under a confirmation number; every gate is checked again."""
    d = call(svc.record_dispense, parse(
        RecordDispense, confirmation_number=confirmation, pharmacy_id=pharmacy, counselled=counselled,
        education_checklist_completed=checklist, medication_guide_given=medication_guide))
    emit({"id": d.id, "dispensed_at": d.dispensed_at, "days_supply": d.days_supply},
         f"dispense {d.id} recorded: {d.days_supply}-day supply")


def sweep() -> None:
    """Expire authorizations (R23) and confirmations (R27) past their time, audited."""
    counts = call(expire_due)
    emit(counts, ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in counts.items()))
