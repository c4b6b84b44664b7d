"""The rule catalogue (issue 19 item 2): every rule code, every machine's states and triggers, and
the state groups the engine reads, in one module.

- **Rule codes.** Each code a refusal can carry (`Requirement.code`, in the API, the CLI, the
  dashboard and the audit log) is a named constant here, its name its value; `CODES` is all of
  them. No other module of rems/ or workflows/ spells a code (tests/unit/test_catalogue.py), so
  `git grep R28_TOO_EARLY` finds where it is produced, and docs/rules.md names where each is
  enforced and tested (checked by the same test). The whole suite fails for a code no test
  produces (tests/rule_codes.py).
- **States and triggers.** One `StrEnum` pair per machine of workflows/definitions.py (the
  prescriber's and the pharmacy's certification share one pair: their machines are the same);
  a test fails if a machine and its enums drift apart. Members are `str`, so they compare, hash
  and serialise as the text stored in the database.
- **State groups**, derived from the machine definitions at import, never copied.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final

from workflows.definitions import (
    CONFIRMATION,
    PATIENT,
    PHARMACY,
    PREGNANCY_TESTING,
    PRESCRIBER,
    PRESCRIPTION,
    Workflow,
)

# -- rule codes, by rule id (REMS_RULES.md) -----------------------------------------------------

# R1, R2, R3: prescriber certification
R1_PRESCRIBER_NOT_CERTIFIED: Final = "R1_PRESCRIBER_NOT_CERTIFIED"
R1_EDUCATION_NOT_REVIEWED: Final = "R1_EDUCATION_NOT_REVIEWED"
R2_ATTESTATION_MISSING: Final = "R2_ATTESTATION_MISSING"
R3_PRESCRIBER_SUSPENDED: Final = "R3_PRESCRIBER_SUSPENDED"
# R5, R6, R8: enrollment, guardian, category
R5_PRESCRIBER_NOT_CERTIFIED: Final = "R5_PRESCRIBER_NOT_CERTIFIED"
R5_PPAF_CATEGORY_MISMATCH: Final = "R5_PPAF_CATEGORY_MISMATCH"
R5_PATIENT_NOT_ENROLLED: Final = "R5_PATIENT_NOT_ENROLLED"
R5_PATIENT_ACTIVE: Final = "R5_PATIENT_ACTIVE"  # the patient-state requirement when it holds
R5_THERAPY_INTERRUPTED: Final = "R5_THERAPY_INTERRUPTED"
R5_PATIENT_DISCONTINUED: Final = "R5_PATIENT_DISCONTINUED"
R5_NOT_THE_PATIENTS_PRESCRIBER: Final = "R5_NOT_THE_PATIENTS_PRESCRIBER"
R6_GUARDIAN_SIGNATURE_MISSING: Final = "R6_GUARDIAN_SIGNATURE_MISSING"
R8_NEW_PPAF_REQUIRED: Final = "R8_NEW_PPAF_REQUIRED"
# R9-R12: pregnancy tests and holds
R9_EARLY_TEST_MISSING: Final = "R9_EARLY_TEST_MISSING"
R9_RECENT_TEST_MISSING: Final = "R9_RECENT_TEST_MISSING"
R10_TEST_NOT_ACCEPTABLE: Final = "R10_TEST_NOT_ACCEPTABLE"
R11_TEST_OVERDUE: Final = "R11_TEST_OVERDUE"
R11_WEEKLY_PHASE_RUNNING: Final = "R11_WEEKLY_PHASE_RUNNING"
R12_PATIENT_ON_HOLD: Final = "R12_PATIENT_ON_HOLD"
R12_NEGATIVE_TEST_NEEDED: Final = "R12_NEGATIVE_TEST_NEEDED"
# R15: contraception counselling
R15_CONTRACEPTION_NOT_ATTESTED: Final = "R15_CONTRACEPTION_NOT_ATTESTED"
# R19, R20: surveys
R19_PRESCRIBER_SURVEY_MISSING: Final = "R19_PRESCRIBER_SURVEY_MISSING"
R19_NOT_AUTHORIZED: Final = "R19_NOT_AUTHORIZED"
R20_PATIENT_SURVEY_DUE: Final = "R20_PATIENT_SURVEY_DUE"
# R22-R24, R36: the authorization and the prescription
R22_CATEGORY_CHANGED: Final = "R22_CATEGORY_CHANGED"
R23_AUTHORIZATION_EXPIRED: Final = "R23_AUTHORIZATION_EXPIRED"  # past its expiry, or in state expired
R23_AUTHORIZATION_VOIDED: Final = "R23_AUTHORIZATION_VOIDED"  # in state voided
R23_AUTHORIZATION_MISMATCH: Final = "R23_AUTHORIZATION_MISMATCH"
R23_TEST_TOO_OLD_TO_AUTHORIZE: Final = "R23_TEST_TOO_OLD_TO_AUTHORIZE"
R23_NOT_EXPIRED: Final = "R23_NOT_EXPIRED"
R24_SUPPLY_TOO_LONG: Final = "R24_SUPPLY_TOO_LONG"
R24_QUANTITY_EXCEEDS_DAYS: Final = "R24_QUANTITY_EXCEEDS_DAYS"
R24_REFILLS_NOT_ALLOWED: Final = "R24_REFILLS_NOT_ALLOWED"
R36_OPEN_AUTHORIZATION: Final = "R36_OPEN_AUTHORIZATION"
# R25: pharmacy certification
R25_PHARMACY_NOT_CERTIFIED: Final = "R25_PHARMACY_NOT_CERTIFIED"
R25_PHARMACY_SUSPENDED: Final = "R25_PHARMACY_SUSPENDED"
R25_PHARMACY_LAPSED: Final = "R25_PHARMACY_LAPSED"
R25_REPRESENTATIVE_MISSING: Final = "R25_REPRESENTATIVE_MISSING"
R25_STAFF_NOT_TRAINED: Final = "R25_STAFF_NOT_TRAINED"
R25_AUDITS_NOT_ACCEPTED: Final = "R25_AUDITS_NOT_ACCEPTED"
R25_NOT_DUE: Final = "R25_NOT_DUE"
# R26-R29, R33: confirmation and dispense
R26_NO_CONFIRMATION: Final = "R26_NO_CONFIRMATION"
R26_ALREADY_CONFIRMED: Final = "R26_ALREADY_CONFIRMED"
R26_CONFIRMATION_INVALID: Final = "R26_CONFIRMATION_INVALID"
R27_CONFIRMATION_EXPIRED: Final = "R27_CONFIRMATION_EXPIRED"
R28_TOO_EARLY: Final = "R28_TOO_EARLY"
R29_COUNSELLING_INCOMPLETE: Final = "R29_COUNSELLING_INCOMPLETE"
R33_ALREADY_DISPENSED: Final = "R33_ALREADY_DISPENSED"
# R30, R34, R35: pregnancy, one person, reproductive facts
R30_POSITIVE_TEST: Final = "R30_POSITIVE_TEST"
R30_PREGNANCY_REPORTED: Final = "R30_PREGNANCY_REPORTED"
R34_ALREADY_ENROLLED: Final = "R34_ALREADY_ENROLLED"
R34_PERSON_PREGNANCY_STOP: Final = "R34_PERSON_PREGNANCY_STOP"
R34_PREGNANCY_STOP_OPEN: Final = "R34_PREGNANCY_STOP_OPEN"
R34_READMISSION_DECISION_MISSING: Final = "R34_READMISSION_DECISION_MISSING"
R35_FACTS_CORRECTED: Final = "R35_FACTS_CORRECTED"  # audit: the administrator's correction

CODES: Final = frozenset(value for name, value in list(globals().items())
                         if name[:1] == "R" and name[1:2].isdigit() and isinstance(value, str))
# Codes that stand for a safeguard that holds (the patient-state requirement when active, an
# administrator's recorded correction): a test produces them built met.
MET_ONLY: Final = frozenset({R5_PATIENT_ACTIVE, R35_FACTS_CORRECTED})


# -- states and triggers, one pair per machine (workflows/definitions.py) -----------------------

class CertificationState(StrEnum):
    """The prescriber's (R1, R3) and the pharmacy's (R25) certification in one program."""

    ENROLLED = "enrolled"
    CERTIFIED = "certified"
    SUSPENDED = "suspended"
    LAPSED = "lapsed"
    REVOKED = "revoked"


class CertificationTrigger(StrEnum):
    CERTIFY = "certify"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    LAPSE = "lapse"
    RECERTIFY = "recertify"
    REVOKE = "revoke"


class PatientState(StrEnum):
    """The patient's enrollment (R5, R8, R12, R30)."""

    PENDING = "pending"
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    INTERRUPTED = "interrupted"
    INTERRUPTED_ON_HOLD = "interrupted_on_hold"
    PREGNANCY_STOP = "pregnancy_stop"
    DISCONTINUED = "discontinued"


class PatientTrigger(StrEnum):
    ENROLL = "enroll"
    RENEW_PPAF = "renew_ppaf"
    HOLD = "hold"
    RELEASE_HOLD = "release_hold"
    INTERRUPT = "interrupt"
    RESUME = "resume"
    REPORT_PREGNANCY = "report_pregnancy"
    DISCONTINUE = "discontinue"


class PregnancyTestingState(StrEnum):
    """The pregnancy-test cadence of an FRP patient (R9, R11, R30)."""

    NOT_REQUIRED = "not_required"
    INITIAL = "initial"
    WEEKLY = "weekly"
    EVERY_4_WEEKS = "every_4_weeks"
    EVERY_2_WEEKS = "every_2_weeks"
    POSITIVE = "positive"


class PregnancyTestingTrigger(StrEnum):
    BECOME_FRP = "become_frp"
    BECOME_FNRP = "become_fnrp"
    START_TREATMENT = "start_treatment"
    END_WEEKLY_PHASE = "end_weekly_phase"
    CYCLES_IRREGULAR = "cycles_irregular"
    CYCLES_REGULAR = "cycles_regular"
    POSITIVE_RESULT = "positive_result"


class PrescriptionState(StrEnum):
    """The prescription and its authorization (R19, R23, R26, R33)."""

    REQUESTED = "requested"
    AUTHORIZED = "authorized"
    CONFIRMED = "confirmed"
    DISPENSED = "dispensed"
    EXPIRED = "expired"
    VOIDED = "voided"


class PrescriptionTrigger(StrEnum):
    AUTHORIZE = "authorize"
    CONFIRM = "confirm"
    RELEASE = "release"
    DISPENSE = "dispense"
    EXPIRE = "expire"
    VOID = "void"


class ConfirmationState(StrEnum):
    """The pharmacy's confirmation number (R26, R27)."""

    ISSUED = "issued"
    USED = "used"
    EXPIRED = "expired"
    VOIDED = "voided"


class ConfirmationTrigger(StrEnum):
    USE = "use"
    EXPIRE = "expire"
    VOID = "void"


# Each machine and its (states, triggers) enums; tests/unit/test_catalogue.py checks each pair
# against its machine, member for member and in the machine's order.
MACHINES: Final[dict[str, tuple[Workflow, type[StrEnum], type[StrEnum]]]] = {
    PRESCRIBER.name: (PRESCRIBER, CertificationState, CertificationTrigger),
    PHARMACY.name: (PHARMACY, CertificationState, CertificationTrigger),
    PATIENT.name: (PATIENT, PatientState, PatientTrigger),
    PREGNANCY_TESTING.name: (PREGNANCY_TESTING, PregnancyTestingState, PregnancyTestingTrigger),
    PRESCRIPTION.name: (PRESCRIPTION, PrescriptionState, PrescriptionTrigger),
    CONFIRMATION.name: (CONFIRMATION, ConfirmationState, ConfirmationTrigger),
}


def _from(transition: dict[str, Any]) -> list[str]:
    source = transition["source"]
    return [source] if isinstance(source, str) else list(source)


def sources(machine: Workflow, trigger: str) -> tuple[str, ...]:
    """The states `trigger` fires from in `machine`, in the machine's order of states."""
    found = {s for t in machine.transitions if t["trigger"] == trigger for s in _from(t)}
    return tuple(s for s in machine.states if s in found)


def dests(machine: Workflow, trigger: str) -> tuple[str, ...]:
    """The states `trigger` leads to in `machine` ("=" stays: the sources), in the machine's order."""
    found = {s for t in machine.transitions if t["trigger"] == trigger
             for s in (sources(machine, trigger) if t["dest"] == "=" else (t["dest"],))}
    return tuple(s for s in machine.states if s in found)


def triggers(machine: Workflow) -> tuple[str, ...]:
    """Every trigger of `machine`, in the order of its first transition."""
    return tuple(dict.fromkeys(t["trigger"] for t in machine.transitions))


# -- state groups, derived from the machines ------------------------------------------------------

# R36: an open prescription (requested, authorized or confirmed): one the machine can still void.
OPEN_PRESCRIPTION_STATES: Final = tuple(PrescriptionState(s) for s in sources(PRESCRIPTION, PrescriptionTrigger.VOID))
# R23: an issued authorization not yet dispensed: open, and past the machine's initial state.
ISSUED_PRESCRIPTION_STATES: Final = tuple(s for s in OPEN_PRESCRIPTION_STATES if s != PRESCRIPTION.initial)
# The gate's stages that fire a prescription trigger (the transitions conditioned on
# "gate_passes"), each with the one state the machine fires it from.
STATE_FOR_STAGE: Final[dict[str, PrescriptionState]] = {
    PrescriptionTrigger(t["trigger"]): PrescriptionState(t["source"])
    for t in PRESCRIPTION.transitions if "gate_passes" in t["conditions"]}
STAGE_OF_STATE: Final[dict[str, PrescriptionTrigger]] = {
    PrescriptionState(t["source"]): PrescriptionTrigger(t["trigger"])
    for t in PRESCRIPTION.transitions if "gate_passes" in t["conditions"]}

# R5, R12: a live (treatable) enrollment, the states a pregnancy report stops; those on hold
# (R12), which a negative test releases; those treated and not on hold, which a hold applies to.
LIVE_PATIENT_STATES: Final = tuple(PatientState(s) for s in sources(PATIENT, PatientTrigger.REPORT_PREGNANCY))
HOLD_PATIENT_STATES: Final = tuple(PatientState(s) for s in sources(PATIENT, PatientTrigger.RELEASE_HOLD))
UNHELD_PATIENT_STATES: Final = tuple(PatientState(s) for s in sources(PATIENT, PatientTrigger.HOLD))
# The one state the gate accepts a patient in: where enrolling leads.
ENROLLED_PATIENT_STATE: Final = PatientState(dests(PATIENT, PatientTrigger.ENROLL)[0])

# R1, R3, R25: every certification trigger (in the machine's order), and those that lead to
# certified (they need the machine's conditions and the holder's enrollment).
CERTIFICATION_TRIGGERS: Final = tuple(CertificationTrigger(t) for t in triggers(PRESCRIBER))
CERTIFYING_TRIGGERS: Final = tuple(
    CertificationTrigger(t) for t in CERTIFICATION_TRIGGERS
    if dests(PRESCRIBER, t) == (CertificationState.CERTIFIED,))
# R1, R3, R25: the transitions that end a certification in force, their triggers (suspend, lapse,
# revoke), the states they lead to (not in force), and those of them that need no condition
# (suspend, revoke: always applied).
_ENDING = [t for t in PRESCRIBER.transitions
           if CertificationState.CERTIFIED in _from(t) and t["dest"] != CertificationState.CERTIFIED]
ENDING_TRIGGERS: Final = tuple(CertificationTrigger(t["trigger"]) for t in _ENDING)
NOT_IN_FORCE_STATES: Final = tuple(CertificationState(s) for s in PRESCRIBER.states
                                   if s in {t["dest"] for t in _ENDING})
STOPPING_TRIGGERS: Final = tuple(CertificationTrigger(t["trigger"]) for t in _ENDING if not t["conditions"])

# R11: the test cadences of a treated FRP patient (the testing states past the machine's initial
# ones: those `become_fnrp` leaves, but the one `become_frp` enters).
TREATED_TESTING_STATES: Final = tuple(
    PregnancyTestingState(s) for s in sources(PREGNANCY_TESTING, PregnancyTestingTrigger.BECOME_FNRP)
    if s not in dests(PREGNANCY_TESTING, PregnancyTestingTrigger.BECOME_FRP))
# The patient triggers a prescriber fires by name (a choice, not the machine's: the others are
# fired by the engine's own actions), for the API, the CLI and the service.
PATIENT_STATE_TRIGGERS: Final = (PatientTrigger.INTERRUPT, PatientTrigger.RESUME, PatientTrigger.DISCONTINUE)

# R19, R23, R26, R33: the gate's answer for a prescription in each state of the machine when the
# stage needs another (the state each stage needs: STATE_FOR_STAGE).
AUTHORIZATION_STATE_CODES: Final[dict[str, tuple[str, str]]] = {
    PrescriptionState.DISPENSED: ("R33", R33_ALREADY_DISPENSED),
    PrescriptionState.CONFIRMED: ("R26", R26_ALREADY_CONFIRMED),
    PrescriptionState.REQUESTED: ("R19", R19_NOT_AUTHORIZED),
    PrescriptionState.AUTHORIZED: ("R26", R26_NO_CONFIRMATION),
    PrescriptionState.EXPIRED: ("R23", R23_AUTHORIZATION_EXPIRED),
    PrescriptionState.VOIDED: ("R23", R23_AUTHORIZATION_VOIDED),
}
