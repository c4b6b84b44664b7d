"""Prescriber and pharmacy enrollment and certification per program (R1, R2, R3, R25).

Enrollment is of the actor (one Prescriber / Pharmacy row, program-free). Certification is per
program: one `Certification` row per (holder, program), with its own machine state (the
prescriber / pharmacy workflows) and the recertification interval of ITS program's file.
`Prescriber.state` / `Pharmacy.state` and their `certified_at` are no longer read or written for
certification: new rows stay "enrolled"; rows from before migration 0005 keep the value that
migration copied into the default program's certification.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from typing import Literal

from rems.domain.catalogue import (
    CERTIFICATION_TRIGGERS,
    CERTIFYING_TRIGGERS,
    NOT_IN_FORCE_STATES,
    STOPPING_TRIGGERS,
    CertificationTrigger,
)
from rems.domain.errors import InvalidInput
from rems.domain.model import Certification, Pharmacy, Prescriber
from rems.domain.requirements import need
from rems.services.commands import EnrollPharmacy, EnrollPrescriber
from rems.services.context import Context
from rems.services.dispensing.prescriptions import release_confirmations_of, void_open_prescriptions
from rems.services.dispensing.retry import always_applied
from rems.services.enrollment import contacts
from rems.services.lifecycle import audit, new_id, transition
from rems.services.ports import UnitOfWork
from rems.services.programs import program_status

Kind = Literal["prescriber", "pharmacy"]
TRIGGERS = CERTIFICATION_TRIGGERS
NOT_IN_FORCE = NOT_IN_FORCE_STATES
REASON_GIVEN = "CERTIFICATION_CHANGE_REASON"  # the audited reason of a suspension or revocation


def enroll_prescriber(uow: UnitOfWork, ctx: Context, cmd: EnrollPrescriber) -> Prescriber:
    if uow.certifications.already_enrolled("npi", cmd.npi):
        raise InvalidInput("npi", "a prescriber with this NPI is already enrolled")
    prescriber = Prescriber(id=new_id("prs"), enrolled_at=ctx.now, **cmd.holder_fields())
    uow.add(prescriber)
    audit(uow, ctx, "prescriber", prescriber.id, "enroll", None, prescriber.state)
    contacts.record(uow, ctx, "prescriber", prescriber.id,
                    contacts.Contact(phone=cmd.office_phone, email=cmd.office_email))
    uow.commit()
    return prescriber


def enroll_pharmacy(uow: UnitOfWork, ctx: Context, cmd: EnrollPharmacy) -> Pharmacy:
    if uow.certifications.already_enrolled("ncpdp_id", cmd.ncpdp_id):
        raise InvalidInput("ncpdp_id", "a pharmacy with this NCPDP id is already enrolled")
    pharmacy = Pharmacy(id=new_id("phm"), enrolled_at=ctx.now, **cmd.model_dump())
    uow.add(pharmacy)
    audit(uow, ctx, "pharmacy", pharmacy.id, "enroll", None, pharmacy.state)
    uow.commit()
    return pharmacy


def program_of(programs: Collection[str], program_id: str | None, default: str,
               field: str = "program_id") -> str:
    """R1, R25: the program a certification command names. Without one, the deployment's default
    program, only where it is the one program loaded: with several, a certification that names
    none would be a guess (422 naming `field`)."""
    if program_id:
        if program_id not in programs:
            raise InvalidInput(field, f"unknown program; one of {', '.join(sorted(programs))}")
        return program_id
    if len(programs) == 1 and default in programs:
        return default
    raise InvalidInput(field, f"required: several programs are loaded ({', '.join(sorted(programs))})"
                       if len(programs) > 1 else f"required: the default program {default} is not loaded")


def _facts(holder: Prescriber | Pharmacy, cert: Certification, interval_days: int,
           ctx: Context) -> dict[str, bool]:
    due = (interval_days > 0 and cert.certified_at is not None
           and ctx.now > cert.certified_at + timedelta(days=interval_days))
    if isinstance(holder, Prescriber):
        return {"attested": holder.attested, "education_reviewed": holder.education_reviewed,
                "recertification_due": due}
    return {"representative_enrolled": holder.representative_enrolled,
            "staff_trained": holder.staff_trained,
            "records_and_audits_accepted": holder.records_and_audits_accepted,
            "recertification_due": due}


@always_applied(when=lambda call: call["trigger"] in STOPPING_TRIGGERS)  # R3, R25: issue 13 item 9
def change_certification(uow: UnitOfWork, ctx: Context, kind: Kind, holder_id: str, trigger: str,
                         program_id: str, reason: str | None = None) -> Certification:
    """certify / suspend / reinstate / lapse / recertify / revoke the holder's certification in
    `program_id`, audited on the holder with the program in its refs. The certification is created
    ("enrolled") by its first change; a refused change writes nothing. A `reason` (the dashboard
    requires one to suspend or revoke) goes into the audit entry as a met requirement, as R35's
    corrections do. Not in force any more
    (suspended, revoked, lapsed): R3 voids the prescriber's open authorizations in this program,
    R25 the pharmacy's live confirmations in this program; other programs are untouched."""
    if trigger not in TRIGGERS:
        raise InvalidInput("trigger", f"must be one of {', '.join(TRIGGERS)}")
    holder: Prescriber | Pharmacy = (uow.get(Prescriber, holder_id, lock=True) if kind == "prescriber"
                                     else uow.get(Pharmacy, holder_id, lock=True))
    if trigger in CERTIFYING_TRIGGERS:  # issue 17 item 4; suspend/revoke always apply
        program_status.refuse_if_eliminated(uow, ctx, program_id, f"{trigger} {kind}")
    params = uow.program(program_id).at(ctx.now)  # ITS program's interval (R3, R25)
    cert = uow.certifications.of(kind, holder_id, program_id, lock=True)
    if cert is None:
        cert = Certification(id=new_id("crt"), program_id=program_id, holder_kind=kind,
                             holder_id=holder_id)
    interval = (params.prescriber_recertification_days if kind == "prescriber"
                else params.pharmacy_recertification_days)
    transition(uow, ctx, kind, cert, trigger, _facts(holder, cert, interval, ctx),
               entity_id=holder_id, refs={"program": program_id, "certification": cert.id},
               notes=[need(True, "R3" if kind == "prescriber" else "R25", REASON_GIVEN, reason, "")]
               if reason else ())
    uow.add(cert)
    if trigger in (CertificationTrigger.CERTIFY, CertificationTrigger.RECERTIFY):
        cert.certified_at = ctx.now
    if cert.state in NOT_IN_FORCE:
        if kind == "prescriber":  # R3: existing authorizations in this program are voided
            void_open_prescriptions(uow, ctx, prescriber_id=holder_id, program_id=program_id)
        else:  # R25: a confirmation this pharmacy holds in this program is void
            release_confirmations_of(uow, ctx, holder_id, program_id)
    uow.commit()
    return cert


def certifications_of(uow: UnitOfWork, ctx: Context, kind: Kind,
                      holder_id: str) -> list[Certification]:
    """Every program certification of one holder (none: certified nowhere yet)."""
    return list(uow.certifications.matching(kind, [holder_id]))
