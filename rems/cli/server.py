"""CLI for the HTTP API: `rems serve` and `rems seed-demo` (a demo population with a token per role)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import typer

from rems.cli.output import call, emit, state

if TYPE_CHECKING:  # the services load when a command runs, not for `rems --help` (issue 15 item 11)
    from rems.services.context import Context
    from rems.services.enrollment import certification
    from rems.services.ports import UnitOfWork

DEMO_NPI, DEMO_NCPDP = "1999999992", "1999990"  # R1: a valid NPI check digit


def serve(host: str = typer.Option("127.0.0.1", help="Interface to listen on"),
          port: int = typer.Option(8000, help="TCP port"),
          workers: int = typer.Option(1, min=1, max=64, help="Server processes (uvicorn workers); "
                                      "each admits REMS_MAX_CONCURRENT_REQUESTS requests at once"),
          forwarded_allow_ips: str = typer.Option(
              "127.0.0.1", help="Proxies trusted for X-Forwarded-Proto/-For (comma-separated IPs or "
                                "networks, or '*' when only the proxy can reach this port)")) -> None:
    """Run the HTTP API (uvicorn) on the configured database (REMS_DATABASE_URL)."""
    import uvicorn
    typer.echo(f"REMS API on http://{host}:{port}/v1 (OpenAPI: http://{host}:{port}/docs); "
               f"dashboard: http://{host}:{port}/web/login; {workers} process(es)")
    # Behind a TLS-terminating proxy the scheme the browser used comes in X-Forwarded-Proto:
    # trusted only from `forwarded_allow_ips`, it makes request.url https (docs/deployment.md).
    uvicorn.run("rems.asgi:from_environment", factory=True, host=host, port=port,
                workers=workers, proxy_headers=True, forwarded_allow_ips=forwarded_allow_ips)


def _demo_actor(kind: certification.Kind, cls: type[Any], column: str, value: str,
                enroll: Callable[[], Any], program_id: str) -> str:
    """The demo prescriber or pharmacy: found by its number, else enrolled; certified once in the
    demo's program (R1, R25: certification is per program)."""
    from sqlalchemy import select

    from rems.services.enrollment import certification

    def find(uow, ctx):  # type: ignore[no-untyped-def]
        found = uow.session.scalars(select(cls).filter_by(**{column: value})).first()
        return found.id if found else None
    key = call(find) or enroll().id
    def held(uow: UnitOfWork, ctx: Context) -> str:
        found = uow.certifications.of(kind, key, program_id)
        return found.state if found else "enrolled"
    if call(held) == "enrolled":
        call(certification.change_certification, kind, key, "certify", program_id)
    return str(key)


def _actors(program_id: str) -> tuple[str, str]:
    from rems.domain.model import Pharmacy, Prescriber
    from rems.services.commands import EnrollPharmacy, EnrollPrescriber, parse
    from rems.services.enrollment import certification
    doc = _demo_actor("prescriber", Prescriber, "npi", DEMO_NPI, lambda: call(
        certification.enroll_prescriber, parse(EnrollPrescriber, name="Dr Demo Prescriber", npi=DEMO_NPI,
                                               attested=True, education_reviewed=True)), program_id)
    pharm = _demo_actor("pharmacy", Pharmacy, "ncpdp_id", DEMO_NCPDP, lambda: call(
        certification.enroll_pharmacy, parse(EnrollPharmacy, name="Demo Specialty Pharmacy",
                                             ncpdp_id=DEMO_NCPDP, representative_enrolled=True,
                                             staff_trained=True, records_and_audits_accepted=True)),
                          program_id)
    return doc, pharm


def seed_demo(days: int = typer.Option(7, help="Days the demo tokens stay valid")) -> None:
    """A certified prescriber and pharmacy, a new adult male patient with an authorization ready for
    the pharmacy, and a fresh token per role (printed once). Refused in production."""
    from rems.services.access import tokens
    from rems.services.commands import EnrollPatient, RequestAuthorization, parse
    from rems.services.dispensing import prescriptions
    from rems.services.enrollment import patients
    settings = state.get_app().settings
    if settings.env == "production":
        raise typer.BadParameter("seed-demo is for development databases only")
    program_id = settings.default_program  # the demo's program, named in every certification
    doc, pharm = _actors(program_id)
    patient = call(patients.enroll_patient, parse(
        # R34: one person, one enrollment: each run seeds a new person (the time makes the name).
        EnrollPatient, program_id=program_id, prescriber_id=doc, sex="male",
        name=f"Demo Patient {datetime.now(UTC):%Y%m%d%H%M%S%f}",
        birth_date="1970-01-01", ppaf={"category": "adult_male"})).id
    rx = call(prescriptions.request_authorization, parse(
        RequestAuthorization, patient_id=patient, prescriber_id=doc, days_supply=28, quantity=28,
        prescriber_survey_completed=True)).prescription
    issued = {role: call(tokens.issue_token, parse(tokens.IssueToken, role=role, actor_id=actor,
                                                  expires_in_days=days)).secret
              for role, actor in (("prescriber", doc), ("pharmacy", pharm), ("patient", patient),
                                  ("admin", "demo-admin"))}
    lines = [f"demo population ({program_id}): prescriber {doc}, pharmacy {pharm}, patient {patient} "
             "(adult_male)",
             f"authorization ready for the pharmacy: {rx.number}", "demo tokens (valid "
             f"{days} days; shown once):"] + [f"  {role:<10} {secret}" for role, secret in issued.items()]
    emit({"program_id": program_id, "prescriber": doc, "pharmacy": pharm, "patient": patient,
          "authorization": rx.number,
          "tokens": issued}, "\n".join(lines))
