"""The prescription's own gates: R15, R22-R24 (supply, quantity, refills), R23 and R26/R33 (its
state and expiry, T3), R28 (supply on hand from every earlier dispense), R36 (one open
authorization)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rems.domain import schedule
from rems.domain.calendar import local_date
from rems.domain.catalogue import (
    AUTHORIZATION_STATE_CODES,
    R15_CONTRACEPTION_NOT_ATTESTED,
    R22_CATEGORY_CHANGED,
    R23_AUTHORIZATION_EXPIRED,
    R23_AUTHORIZATION_MISMATCH,
    R24_QUANTITY_EXCEEDS_DAYS,
    R24_REFILLS_NOT_ALLOWED,
    R24_SUPPLY_TOO_LONG,
    R26_NO_CONFIRMATION,
    R28_TOO_EARLY,
    R36_OPEN_AUTHORIZATION,
    STATE_FOR_STAGE,
    PrescriptionTrigger,
)
from rems.domain.model import Dispense, Patient, PregnancyTest, Prescription
from rems.domain.requirements import Requirement, need
from rems.domain.schedule import Today
from workflows.products import product_on
from workflows.program import Program

NEW_PRESCRIPTION = "with a new prescription"
_AUTHORIZE = PrescriptionTrigger.AUTHORIZE  # looked up once: the hot path


def product_units(program: Program, rx: Prescription, now: datetime) -> int | None:
    """R24: the units a day of the product prescribed, if the prescription names one and the
    program lists it that day with a number (issue 17 item 7); None: the program's parameter."""
    product = product_on(program, rx.ndc, local_date(now, program.time_zone)) if rx.ndc else None
    return product.units_per_day if product else None


def supply_requirements(rx: Prescription, t: Today, units_per_day: int | None = None) -> list[Requirement]:
    """R24: at most 28 days, a quantity that fits the days (the product's units a day when it
    declares them, else the program's), no refills."""
    p = t.params
    per_day = p.max_units_per_day if units_per_day is None else units_per_day
    most = rx.days_supply * per_day
    return [
        need(rx.days_supply <= p.max_supply_days, "R24", R24_SUPPLY_TOO_LONG,
             f"at most a {p.max_supply_days}-day supply", f"prescribe {p.max_supply_days} days or fewer",
             NEW_PRESCRIPTION),
        need(rx.quantity <= most, "R24", R24_QUANTITY_EXCEEDS_DAYS,
             f"a quantity of at most {most} ({rx.days_supply} days x {per_day} a day"
             f"{f' of NDC {rx.ndc}' if units_per_day is not None else ''})",
             f"prescribe at most {per_day} units a day of supply", NEW_PRESCRIPTION),
        need(rx.refills <= p.max_refills, "R24", R24_REFILLS_NOT_ALLOWED,
             "no refills", "write a new prescription instead of a refill", NEW_PRESCRIPTION),
    ]


def on_hand_requirement(earlier: Sequence[Dispense], t: Today) -> Requirement:
    """R28: the days left from every earlier dispense, added up, at most the refill window."""
    window = t.params.refill_window_days
    held = schedule.on_hand(earlier, t.now, t.tz)
    opens = schedule.refill_opens(earlier, window, t.tz) if held > window else None
    return need(held <= window, "R28", R28_TOO_EARLY,
                f"at most {window} days of supply on hand from earlier dispenses ({held} now)",
                f"dispense on or after {opens:%Y-%m-%d %H:%M} UTC" if opens else "wait", opens)


def open_requirement(rx_id: str | None, others: Sequence[Prescription], tests: Sequence[PregnancyTest],
                     t: Today) -> Requirement:
    """R36: no open authorization of the patient in the program but `rx_id` (the one at hand)."""
    open_ = [o for o in others if o.id != rx_id and schedule.is_open(o, tests, t.params, t.tz, t.now)]
    return need(not open_, "R36", R36_OPEN_AUTHORIZATION,
                "no other open authorization (requested, authorized or confirmed) for the patient",
                "void the open authorization, or wait until it is dispensed or expires",
                "after the open authorization is voided, dispensed or expired")


def contraception_attestation(rx: Prescription) -> Requirement:
    """R15: the prescriber attests contraception counselling for this prescription."""
    return need(rx.contraception_counselling_attested, "R15", R15_CONTRACEPTION_NOT_ATTESTED,
                "prescriber attests contraception counselling for this prescription",
                "the prescriber attests contraception counselling", NEW_PRESCRIPTION)


def authorization_requirements(rx: Prescription, stage: str, t: Today, tests: Sequence[PregnancyTest],
                               others: Sequence[Prescription], patient: Patient) -> list[Requirement]:
    """R36 when authorizing; then R19/R26/R33 (its state), R23 (unexpired, T3; this patient's),
    R22 (the current category)."""
    if stage == _AUTHORIZE:
        return [open_requirement(rx.id, others, tests, t)]
    expected = STATE_FOR_STAGE[stage]  # the state the prescription machine fires the stage from
    rule, code = AUTHORIZATION_STATE_CODES[rx.state]
    expiry = schedule.effective_expiry(rx, tests, t.params, t.tz)
    return [
        need(rx.state == expected, rule, code, f"authorization is {rx.state}",
             "a new prescription and authorization are needed" if rule in ("R23", "R33") else
             "obtain a confirmation number first" if code == R26_NO_CONFIRMATION else
             "use the confirmation already issued, or void it" if rule == "R26" else
             "complete the authorization", NEW_PRESCRIPTION if rule in ("R23", "R33") else None),
        need(expiry is not None and t.now <= expiry, "R23", R23_AUTHORIZATION_EXPIRED,
             f"authorization unexpired (expires {expiry:%Y-%m-%d %H:%M} UTC)" if expiry
             else "authorization unexpired", "the prescriber requests a new authorization", NEW_PRESCRIPTION),
        need(rx.patient_id == patient.id and rx.prescriber_id == patient.prescriber_id, "R23",
             R23_AUTHORIZATION_MISMATCH, "authorization belongs to this patient and prescriber",
             "present the authorization issued for this patient by their prescriber"),
        need(rx.category == t.category, "R22", R22_CATEGORY_CHANGED,
             f"authorization issued for the patient's current category ({t.category})",
             "a new PPAF and a new authorization for the current category", NEW_PRESCRIPTION),
    ]
