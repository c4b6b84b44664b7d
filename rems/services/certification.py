"""Prescriber and pharmacy certification use cases (R1, R2, R3, R25)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from rems.domain.errors import InvalidInput
from rems.domain.model import Pharmacy, Prescriber
from rems.services.commands import EnrollPharmacy, EnrollPrescriber
from rems.services.lifecycle import audit, new_id, transition
from rems.services.prescriptions import release_confirmations_of, void_open_prescriptions
from rems.services.retry import always_applied
from rems.services.uow import Context, UnitOfWork

Kind = Literal["prescriber", "pharmacy"]
TRIGGERS = ("certify", "suspend", "reinstate", "lapse", "recertify", "revoke")


def enroll_prescriber(uow: UnitOfWork, ctx: Context, cmd: EnrollPrescriber) -> Prescriber:
    if uow.already_enrolled("npi", cmd.npi):
        raise InvalidInput("npi", "a prescriber with this NPI is already enrolled")
    prescriber = Prescriber(id=new_id("prs"), enrolled_at=ctx.now, **cmd.model_dump())
    uow.add(prescriber)
    audit(uow, ctx, "prescriber", prescriber.id, "enroll", None, prescriber.state)
    uow.commit()
    return prescriber


def enroll_pharmacy(uow: UnitOfWork, ctx: Context, cmd: EnrollPharmacy) -> Pharmacy:
    if uow.already_enrolled("ncpdp_id", cmd.ncpdp_id):
        raise InvalidInput("ncpdp_id", "a pharmacy with this NCPDP id is already enrolled")
    pharmacy = Pharmacy(id=new_id("phm"), enrolled_at=ctx.now, **cmd.model_dump())
    uow.add(pharmacy)
    audit(uow, ctx, "pharmacy", pharmacy.id, "enroll", None, pharmacy.state)
    uow.commit()
    return pharmacy


def _facts(record: Prescriber | Pharmacy, interval_days: int, ctx: Context) -> dict[str, bool]:
    due = (interval_days > 0 and record.certified_at is not None
           and ctx.now > record.certified_at + timedelta(days=interval_days))
    if isinstance(record, Prescriber):
        return {"attested": record.attested, "education_reviewed": record.education_reviewed,
                "recertification_due": due}
    return {"representative_enrolled": record.representative_enrolled,
            "staff_trained": record.staff_trained,
            "records_and_audits_accepted": record.records_and_audits_accepted,
            "recertification_due": due}


@always_applied(when=lambda call: call["trigger"] in ("suspend", "revoke"))  # R3, R25: issue 13 item 9
def change_certification(uow: UnitOfWork, ctx: Context, kind: Kind, record_id: str,
                         trigger: str, program_id: str = "pomalidomide") -> Prescriber | Pharmacy:
    """certify / suspend / reinstate / lapse / recertify / revoke, audited; R3 voids on suspend."""
    if trigger not in TRIGGERS:
        raise InvalidInput("trigger", f"must be one of {', '.join(TRIGGERS)}")
    record: Prescriber | Pharmacy = (uow.get(Prescriber, record_id, lock=True) if kind == "prescriber"
                                     else uow.get(Pharmacy, record_id, lock=True))
    params = uow.program(program_id).at(ctx.now)
    interval = (params.prescriber_recertification_days if kind == "prescriber"
                else params.pharmacy_recertification_days)
    transition(uow, ctx, kind, record, trigger, _facts(record, interval, ctx))
    if trigger in ("certify", "recertify"):
        record.certified_at = ctx.now
    if record.state in ("suspended", "revoked", "lapsed"):
        if isinstance(record, Prescriber):  # R3: existing authorizations are voided
            void_open_prescriptions(uow, ctx, prescriber_id=record.id)
        else:  # R25: a confirmation held by this pharmacy is void
            release_confirmations_of(uow, ctx, record.id)
    uow.commit()
    return record
