"""The REMS state machines as data (R1, R3, R5, R8, R9-R12, R19, R23, R25-R27, R30, R33).

Conditions are names of facts the engine computes before firing a trigger; the machines never
read records or the clock themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Workflow:
    name: str
    title: str
    states: tuple[str, ...]
    initial: str
    transitions: tuple[dict[str, Any], ...] = field(default_factory=tuple)


def _t(trigger: str, source: str | list[str], dest: str, *conditions: str) -> dict[str, Any]:
    return {"trigger": trigger, "source": source, "dest": dest, "conditions": list(conditions)}


PRESCRIBER = Workflow(
    name="prescriber", title="Prescriber certification (R1, R2, R3)",
    states=("enrolled", "certified", "suspended", "lapsed", "revoked"), initial="enrolled",
    transitions=(
        _t("certify", "enrolled", "certified", "attested", "education_reviewed"),
        _t("suspend", "certified", "suspended"),
        _t("reinstate", "suspended", "certified"),
        _t("lapse", "certified", "lapsed", "recertification_due"),
        _t("recertify", "lapsed", "certified", "attested", "education_reviewed"),
        _t("revoke", ["enrolled", "certified", "suspended", "lapsed"], "revoked"),
    ),
)

PHARMACY = Workflow(
    name="pharmacy", title="Pharmacy certification (R25)",
    states=("enrolled", "certified", "suspended", "lapsed", "revoked"), initial="enrolled",
    transitions=(
        _t("certify", "enrolled", "certified", "representative_enrolled", "staff_trained",
           "records_and_audits_accepted"),
        _t("suspend", "certified", "suspended"),
        _t("reinstate", "suspended", "certified"),
        _t("lapse", "certified", "lapsed", "recertification_due"),
        _t("recertify", "lapsed", "certified", "representative_enrolled", "staff_trained",
           "records_and_audits_accepted"),
        _t("revoke", ["enrolled", "certified", "suspended", "lapsed"], "revoked"),
    ),
)

TREATABLE = ["active", "on_hold", "interrupted", "interrupted_on_hold"]
PATIENT = Workflow(
    name="patient", title="Patient enrollment (R5, R8, R12, R30)",
    states=("pending", "active", "on_hold", "interrupted", "interrupted_on_hold", "pregnancy_stop",
            "discontinued"),
    initial="pending",
    transitions=(
        _t("enroll", "pending", "active", "prescriber_certified", "ppaf_matches_category",
           "guardian_signed_if_child"),
        _t("renew_ppaf", TREATABLE, "=", "prescriber_certified", "ppaf_matches_category",
           "guardian_signed_if_child"),
        # A hold (R12) and an interruption are independent: releasing one must not lift the other.
        _t("hold", "active", "on_hold"),
        _t("hold", "interrupted", "interrupted_on_hold"),
        _t("release_hold", "on_hold", "active", "negative_test_since_hold"),
        _t("release_hold", "interrupted_on_hold", "interrupted", "negative_test_since_hold"),
        _t("interrupt", "active", "interrupted"),
        _t("interrupt", "on_hold", "interrupted_on_hold"),
        _t("resume", "interrupted", "active"),
        _t("resume", "interrupted_on_hold", "on_hold"),
        _t("report_pregnancy", TREATABLE, "pregnancy_stop"),
        _t("discontinue", [*TREATABLE, "pregnancy_stop"], "discontinued"),
    ),
)

_TESTING = ["initial", "weekly", "every_4_weeks", "every_2_weeks"]
PREGNANCY_TESTING = Workflow(
    name="pregnancy_testing", title="Pregnancy-test cadence for FRP (R9, R11, R30)",
    states=("not_required", *_TESTING, "positive"), initial="not_required",
    transitions=(
        _t("become_frp", "not_required", "initial"),
        _t("become_fnrp", _TESTING, "not_required"),
        _t("start_treatment", "initial", "weekly"),
        _t("end_weekly_phase", "weekly", "every_4_weeks", "weekly_phase_elapsed", "cycles_regular"),
        _t("end_weekly_phase", "weekly", "every_2_weeks", "weekly_phase_elapsed"),
        _t("cycles_irregular", "every_4_weeks", "every_2_weeks"),
        _t("cycles_regular", "every_2_weeks", "every_4_weeks"),
        _t("positive_result", [*_TESTING, "not_required"], "positive"),
    ),
)

PRESCRIPTION = Workflow(
    name="prescription", title="Prescription and authorization (R19, R23, R26, R33)",
    states=("requested", "authorized", "confirmed", "dispensed", "expired", "voided"),
    initial="requested",
    transitions=(
        _t("authorize", "requested", "authorized", "gate_passes"),
        _t("confirm", "authorized", "confirmed", "gate_passes"),
        _t("release", "confirmed", "authorized"),
        _t("dispense", "confirmed", "dispensed", "gate_passes"),
        _t("expire", ["requested", "authorized", "confirmed"], "expired", "past_expiry"),
        _t("void", ["requested", "authorized", "confirmed"], "voided"),
    ),
)

CONFIRMATION = Workflow(
    name="confirmation", title="Pharmacy confirmation (R26, R27)",
    states=("issued", "used", "expired", "voided"), initial="issued",
    transitions=(
        _t("use", "issued", "used"),
        _t("expire", "issued", "expired", "past_expiry"),
        _t("void", "issued", "voided"),
    ),
)

WORKFLOWS = {w.name: w for w in (PRESCRIBER, PHARMACY, PATIENT, PREGNANCY_TESTING, PRESCRIPTION,
                                 CONFIRMATION)}
