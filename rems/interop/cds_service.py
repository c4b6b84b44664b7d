"""The cards a hook gets: the ETASU gates of the patient (and the draft order), and the pharmacy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rems.adapters.uow import UnitOfWork
from rems.domain import gate
from rems.interop import cds, ehr_fhir, etasu, lookup
from rems.interop.cds import Hook
from rems.services.context import Context
from rems.settings import Settings
from workflows.program import Program


@dataclass
class Answer:
    cards: list[dict[str, Any]] = field(default_factory=list)
    refused: str | None = None  # another prescriber's patient: audit it


def from_ehr(settings: Settings, issuer: str | None, programs: Sequence[Program], now: datetime) -> cds.Fetch:
    """What completes a hook's missing prefetch: the EHR's allow-listed FHIR server (G-3)."""
    return ehr_fhir.Prefetcher(settings, issuer, programs, now)


def _pharmacy(uow: UnitOfWork, ctx: Context, hook: Hook, program: Any) -> list[dict[str, Any]]:
    if hook.pharmacy_ncpdp_id is None:
        return []
    pharmacy = lookup.pharmacy_by_ncpdp(uow, hook.pharmacy_ncpdp_id)
    # R25: the pharmacy's certification in the program of the order, not any other one
    requirement = gate.pharmacy_requirement(uow.certifications.of("pharmacy", pharmacy.id, program.id), program.id,
                                            program.at(ctx.now), ctx.now) if pharmacy else None
    return [cds.pharmacy_card(hook.pharmacy_ncpdp_id, requirement, program)]


def cards(uow: UnitOfWork, ctx: Context, caller: etasu.Caller, hook: Hook, base_url: str) -> Answer:
    """Raises cds.BadHook for an order of an unsupported code; links are absolute, on `base_url`."""
    if hook.hook in cds.ORDER_HOOKS:
        program = cds.program_of(hook.orders, uow.programs.values(), ctx.now)
        answer = Answer(_pharmacy(uow, ctx, hook, program))
        if hook.patient_id is None:
            answer.cards.insert(0, cds.failure_card("the patient carries no REMS patient id", program, base_url,
                                                    hook.launch(ctx.now)))
            return answer
        days = [o.days_supply for o in hook.orders if o.days_supply is not None]
        refills = [o.refills for o in hook.orders if o.refills is not None]
        result = etasu.for_new_order(uow, ctx, caller, hook.patient_id, program,
                                     max(days) if days else None, max(refills) if refills else None)
        if result.outcome == "failure":
            answer.refused = result.reason if result.refused else None
            answer.cards.insert(0, cds.failure_card(result.reason, program, base_url, hook.launch(ctx.now)))
        else:
            answer.cards[:0] = cds.requirement_cards(result.unmet, program, base_url, hook.patient_id,
                                                     hook.launch(ctx.now))
        return answer
    if hook.patient_id is None:
        return Answer()  # patient-view of a patient in no REMS program: say nothing
    patient, refused = etasu.visible_patient(uow, caller, hook.patient_id)
    if patient is None:
        return Answer([cds.unknown_patient_card(hook.patient_id, base_url)],
                      f"patient {hook.patient_id!r} is not yours" if refused else None)
    program = uow.program(patient.program_id)
    result = etasu.for_new_order(uow, ctx, caller, patient.id, program, None, None)
    return Answer(cds.requirement_cards(result.unmet, program, base_url, patient.id, hook.launch(ctx.now))
                  + _pharmacy(uow, ctx, hook, program))



