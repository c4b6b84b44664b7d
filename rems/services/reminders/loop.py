"""Closing the loop (issue 16 item 5; R19, R23, R25-R27): the prescriber's system hears back.

A refused authorization (R19: the gate's failures) and a confirmation that ended without a dispense
(expired, R27; voided by the pharmacy, R26; with its authorization, R23, R26; a decertified
pharmacy, R25) are queued in the outbox in the transaction that decided them, as a FHIR
`Communication` (to the EHR the prescriber is mapped under, REMS_LOOP_FHIR_ENDPOINTS) and, for a
confirmation, an NCPDP `RxFill` `NotDispensed` (REMS_LOOP_NCPDP_URL). The body is rendered then,
once (by rems.interop's formats, rems/interop/loop.py, found through the registry the composition
root wires: Routes.formats), and stored next to the outbox row (loop_messages, written by
rems/adapters/outbox.py): the workers send those bytes through rems/adapters/notify/loop.py,
retried and parked like any reminder. Ids, codes and rules only: never a name, and nothing of it
is logged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from rems.adapters.uow import UnitOfWork
from rems.domain import schedule
from rems.domain.model import Confirmation, Patient, Pharmacy, Prescriber, Prescription
from rems.domain.requirements import Requirement
from rems.services.context import Context
from rems.services.lifecycle import new_id
from rems.services.ports.outbox import LoopFormats
from rems.settings import Settings

KEY = "rems.loop"  # session.info: the routes, put there by the composition root (rems.bootstrap)
FHIR_JSON, XML = "application/fhir+json", "application/xml"
DENIED, NOT_DISPENSED, RXFILL = "denial_communication", "not_dispensed_communication", "not_dispensed_rxfill"


def _none() -> LoopFormats:
    raise RuntimeError("no closing-the-loop formats are wired (rems.bootstrap)")


@dataclass(frozen=True)
class Routes:
    """Who hears back, from the settings: per prescriber, the EHR issuer and its user reference;
    and the formats the bodies are rendered in (loaded on first use)."""

    fhir: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    ncpdp: bool = False
    formats: Callable[[], LoopFormats] = _none


def routes_of(settings: Settings, formats: Callable[[], LoopFormats] = _none) -> Routes:
    """An issuer's FHIR endpoint serves the prescribers mapped under it (the first issuer, in name
    order, when a prescriber is mapped under several): no other prescriber's patient is sent there."""
    fhir: dict[str, tuple[str, str]] = {}
    for issuer in sorted(settings.loop_fhir_endpoints):
        for user, prescriber_id in sorted(settings.cds_practitioners.get(issuer, {}).items()):
            fhir.setdefault(prescriber_id, (issuer, user))
    return Routes(fhir, settings.loop_ncpdp_url is not None, formats)


def _routes(uow: UnitOfWork) -> Routes:
    found = uow.outbox.setting(KEY)
    return found if isinstance(found, Routes) else Routes()


def _queue(uow: UnitOfWork, ctx: Context, rx: Prescription, kind: str, subject: str, rule: str,
           channel: str, issuer: str | None, media_type: str, render: Callable[[str], str]) -> None:
    """One outbox row (at most one per natural key: recipient, kind, subject, day in the patient's
    zone, T1) and its body, in the caller's transaction."""
    program = uow.program(rx.program_id)
    day: date = schedule.today(uow.get(Patient, rx.patient_id), program, ctx.now)
    uow.outbox.queue_message({
        "id": new_id("ntf"), "recipient": f"prescriber:{rx.prescriber_id}", "kind": kind, "subject": subject,
        "due_on": day, "rule": rule, "channel": channel, "state": "pending", "attempts": 0, "created_at": ctx.now,
        "next_attempt_at": ctx.now}, issuer, media_type, render)


def refused(uow: UnitOfWork, ctx: Context, rx: Prescription, failures: Sequence[Requirement]) -> None:
    """R19: the authorization was refused; the prescriber's EHR gets a Communication naming every rule."""
    routes = _routes(uow)
    route = routes.fhir.get(rx.prescriber_id)
    if route is None:
        return
    formats = routes.formats()  # FHIR models load only where the loop is configured
    program = uow.program(rx.program_id)
    npi = uow.get(Prescriber, rx.prescriber_id).npi
    text = (f"{program.name}: the authorization of prescription {rx.id} for REMS patient {rx.patient_id} was "
            f"refused. " + "; ".join(f"{r.rule} {r.code}: {r.remedy or r.message}" for r in failures))
    rules = [(r.rule, r.code) for r in failures]
    _queue(uow, ctx, rx, DENIED, rx.id, "R19", "fhir", route[0], FHIR_JSON, lambda nid: json.dumps(
        formats.communication(nid, "alert", rx, program.name, route[1], npi, text, rules, ctx.now)))


def not_dispensed(uow: UnitOfWork, ctx: Context, confirmation: Confirmation, rx: Prescription,
                  rule: str, why: str) -> None:
    """A confirmation ended without a dispense (`rule`, `why`): a Communication to the prescriber's
    EHR and an RxFill NotDispensed through the NCPDP endpoint, as configured."""
    routes = _routes(uow)
    route = routes.fhir.get(rx.prescriber_id)
    if route is None and not routes.ncpdp:
        return
    formats = routes.formats()
    program = uow.program(rx.program_id)
    npi = uow.get(Prescriber, rx.prescriber_id).npi
    text = (f"{program.name}: authorization {rx.number} for REMS patient {rx.patient_id} was not dispensed: "
            f"{why} ({rule}). A new confirmation is needed before the pharmacy can dispense.")
    if route is not None:
        _queue(uow, ctx, rx, NOT_DISPENSED, confirmation.id, rule, "fhir", route[0], FHIR_JSON,
               lambda nid: json.dumps(formats.communication(
                   nid, "notification", rx, program.name, route[1], npi, text, [(rule, "")], ctx.now)))
    if routes.ncpdp:
        ncpdp_id = uow.get(Pharmacy, confirmation.pharmacy_id).ncpdp_id
        rxnorm = program.rxnorm[0] if program.rxnorm else None
        _queue(uow, ctx, rx, RXFILL, confirmation.id, rule, "ncpdp", None, XML, lambda nid: formats.rx_fill(
            nid, npi, rx, ncpdp_id, rxnorm, (formats.ncpdp_reason(rule),), text, ctx.now))
