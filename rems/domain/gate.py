"""The dispense gate (R1, R3, R5, R6, R8-R12, R15, R19-R30, R33): every failing requirement, not the first.

A pure function of the records, the program and `now`; time-based expiry is decided here,
whether or not a sweep has already expired a record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rems.domain.categories import CHILD_CATEGORIES, FRP_CATEGORIES, category_of
from rems.domain.model import (
    Certification,
    Confirmation,
    Counselling,
    Dispense,
    Patient,
    PatientSurvey,
    Pharmacy,
    Ppaf,
    PregnancyReport,
    PregnancyTest,
    Prescriber,
    Prescription,
)
from rems.domain.requirements import Decision, Requirement, need
from rems.domain.testing import evaluate_tests
from workflows.program import Parameters, Program

STAGES = ("readiness", "authorize", "confirm", "dispense")
_PATIENT_STATE_CODES = {
    "pending": ("R5", "R5_PATIENT_NOT_ENROLLED", "enroll the patient with a PPAF"),
    "interrupted": ("R5", "R5_THERAPY_INTERRUPTED", "resume therapy first"),
    "discontinued": ("R5", "R5_PATIENT_DISCONTINUED", "the patient must be enrolled again"),
    "on_hold": ("R12", "R12_PATIENT_ON_HOLD", "record a new negative pregnancy test"),
    "interrupted_on_hold": ("R12", "R12_PATIENT_ON_HOLD",
                            "record a new negative pregnancy test, then resume therapy"),
    "pregnancy_stop": ("R30", "R30_PREGNANCY_REPORTED", "therapy is stopped (R30)"),
}


@dataclass(frozen=True)
class Records:
    """Everything the gate reads, loaded by the service layer."""

    patient: Patient
    prescriber: Prescriber
    prescription: Prescription | None
    ppafs: Sequence[Ppaf]
    tests: Sequence[PregnancyTest] = ()
    patient_surveys: Sequence[PatientSurvey] = ()
    prescriber_survey_done: bool = False
    dispenses: Sequence[Dispense] = ()  # R28, R34: the person's in this program, every enrollment
    pharmacy: Pharmacy | None = None
    confirmation: Confirmation | None = None
    counselling: Counselling | None = None
    # R1, R25: the prescriber's and the pharmacy's certification in THIS program (None: never
    # certified in it). Loaded by rems/services/records.py.
    prescriber_certification: Certification | None = None
    pharmacy_certification: Certification | None = None
    # R30, R34: the person's pregnancy reports in every enrollment and program (`tests` above are
    # the person's too), and the administrator's latest readmission decision after a pregnancy
    # stop: history before it no longer blocks, nothing collected before it qualifies.
    pregnancy_reports: Sequence[PregnancyReport] = ()
    readmitted_at: datetime | None = None

    @property
    def ppaf(self) -> Ppaf | None:
        """The latest PPAF; of several signed at the same instant, the last one given (the loader
        orders them as signed)."""
        latest = None
        for ppaf in self.ppafs:
            if latest is None or ppaf.signed_at >= latest.signed_at:
                latest = ppaf
        return latest


def _lapsed(certified_at: datetime | None, days: int, now: datetime) -> bool:
    return days > 0 and certified_at is not None and now > certified_at + timedelta(days=days)


def prescriber_requirement(c: Certification | None, program_id: str, params: Parameters,
                           now: datetime) -> Requirement:
    """R1, R3: the prescriber's certification in THIS program (`params` are its program's); a
    certification of another program, or none, is not certified here."""
    if c is not None and c.program_id != program_id:
        c = None
    if c is not None and c.state in ("suspended", "revoked"):
        return need(False, "R3", "R3_PRESCRIBER_SUSPENDED",
                    f"prescriber certification in {program_id} is {c.state}",
                    "the program administrator must reinstate the prescriber")
    ok = (c is not None and c.state == "certified"
          and not _lapsed(c.certified_at, params.prescriber_recertification_days, now))
    return need(ok, "R1", "R1_PRESCRIBER_NOT_CERTIFIED", f"prescriber is certified in {program_id}",
                f"the prescriber completes enrollment, attestation and REMS education for {program_id}")


def pharmacy_requirement(c: Certification | None, program_id: str, params: Parameters,
                         now: datetime) -> Requirement:
    """R25: the pharmacy's certification in THIS program, lapsing on its program's interval."""
    if c is not None and c.program_id != program_id:
        c = None
    if c is not None and c.state in ("suspended", "revoked"):
        return need(False, "R25", "R25_PHARMACY_SUSPENDED",
                    f"pharmacy certification in {program_id} is {c.state}",
                    "the program administrator must reinstate the pharmacy")
    if c is not None and (c.state == "lapsed" or (c.state == "certified" and _lapsed(
            c.certified_at, params.pharmacy_recertification_days, now))):
        return need(False, "R25", "R25_PHARMACY_LAPSED",
                    f"pharmacy certification in {program_id} has lapsed", "the pharmacy recertifies")
    return need(c is not None and c.state == "certified", "R25", "R25_PHARMACY_NOT_CERTIFIED",
                f"pharmacy is certified in {program_id}",
                f"the pharmacy completes certification for {program_id}")


def patient_requirements(r: Records, params: Parameters, now: datetime) -> list[Requirement]:
    patient, ppaf = r.patient, r.ppaf
    rule, code, remedy = _PATIENT_STATE_CODES.get(patient.state, ("R5", "R5_PATIENT_ACTIVE", ""))
    current = category_of(patient, now.date(), params)
    reqs = [
        need(patient.state == "active", rule, code, f"patient enrollment is {patient.state}", remedy),
        need(ppaf is not None and ppaf.category == current, "R8", "R8_NEW_PPAF_REQUIRED",
             f"a PPAF for the patient's current category ({current})",
             f"the prescriber signs a new PPAF for category {current}"),
        need(not any(t.result == "positive" for t in r.tests), "R30", "R30_POSITIVE_TEST",
             "no positive pregnancy test", "therapy is stopped (R30)"),
    ]
    if current in CHILD_CATEGORIES:
        reqs.append(need(ppaf is not None and ppaf.signed_by == "guardian", "R6",
                         "R6_GUARDIAN_SIGNATURE_MISSING", "a parent or guardian signed the PPAF",
                         "a parent or guardian signs the PPAF"))
    return reqs


def survey_requirements(r: Records, params: Parameters, now: datetime) -> list[Requirement]:
    category = category_of(r.patient, now.date(), params)
    rule = params.survey[category]
    done = [s.completed_at for s in r.patient_surveys if s.completed_at <= now]
    dispensed = [d.dispensed_at for d in r.dispenses if d.dispensed_at <= now]
    if rule.before_first:
        anchor = max(done, default=None)
    elif not dispensed:
        anchor = now  # R20: no survey before the first prescription for this category
    else:  # the cadence runs from the first dispense, or the latest survey after it
        anchor = max([min(dispensed), *done])
    ok = anchor is not None and now <= anchor + timedelta(days=rule.interval_days)
    survey = need(ok, "R20", "R20_PATIENT_SURVEY_DUE",
                  f"patient survey done within the last {rule.interval_days} days",
                  "the patient (or guardian for a child) completes the patient survey")
    if r.prescription is None:
        return [survey]
    return [
        survey,
        need(r.prescriber_survey_done, "R19", "R19_PRESCRIBER_SURVEY_MISSING",
             "prescriber survey completed for this prescription",
             "the prescriber completes the prescriber survey for this prescription"),
    ]


def prescription_requirements(rx: Prescription, r: Records, stage: str, params: Parameters,
                              now: datetime, category: str) -> list[Requirement]:
    reqs = [
        need(rx.days_supply <= params.max_supply_days, "R24", "R24_SUPPLY_TOO_LONG",
             f"at most a {params.max_supply_days}-day supply",
             f"prescribe {params.max_supply_days} days or fewer"),
        need(rx.refills <= params.max_refills, "R24", "R24_REFILLS_NOT_ALLOWED",
             "no refills", "write a new prescription instead of a refill"),
    ]
    if category in FRP_CATEGORIES:
        reqs.append(need(rx.contraception_counselling_attested, "R15", "R15_CONTRACEPTION_NOT_ATTESTED",
                         "prescriber attests contraception counselling for this prescription",
                         "the prescriber attests contraception counselling"))
    if stage == "authorize":
        return reqs
    expected = "authorized" if stage == "confirm" else "confirmed"
    state_codes = {"dispensed": ("R33", "R33_ALREADY_DISPENSED"), "confirmed": ("R26", "R26_ALREADY_CONFIRMED"),
                   "requested": ("R19", "R19_NOT_AUTHORIZED"), "authorized": ("R26", "R26_NO_CONFIRMATION")}
    rule, code = state_codes.get(rx.state, ("R23", f"R23_AUTHORIZATION_{rx.state.upper()}"))
    reqs += [
        need(rx.state == expected, rule, code, f"authorization is {rx.state}",
             "a new prescription and authorization are needed" if rule in ("R23", "R33") else
             "obtain a confirmation number first" if code == "R26_NO_CONFIRMATION" else
             "use the confirmation already issued, or void it" if rule == "R26" else
             "complete the authorization"),
        need(rx.expires_at is not None and now <= rx.expires_at, "R23", "R23_AUTHORIZATION_EXPIRED",
             f"authorization unexpired (expires {rx.expires_at:%Y-%m-%d %H:%M} UTC)" if rx.expires_at
             else "authorization unexpired", "the prescriber requests a new authorization"),
        need(rx.patient_id == r.patient.id and rx.prescriber_id == r.patient.prescriber_id, "R23",
             "R23_AUTHORIZATION_MISMATCH", "authorization belongs to this patient and prescriber",
             "present the authorization issued for this patient by their prescriber"),
        need(rx.category == category, "R22", "R22_CATEGORY_CHANGED",
             f"authorization issued for the patient's current category ({category})",
             "a new PPAF and a new authorization for the current category"),
    ]
    previous = [d for d in r.dispenses if d.prescription_id != rx.id and d.dispensed_at <= now]
    if previous:
        last = max(previous, key=lambda d: d.dispensed_at)
        opens = last.dispensed_at + timedelta(days=last.days_supply - params.refill_window_days)
        reqs.append(need(now >= opens, "R28", "R28_TOO_EARLY",
                         f"at most {params.refill_window_days} days of the previous supply remain",
                         f"dispense on or after {opens:%Y-%m-%d %H:%M} UTC"))
    return reqs


def dispense_requirements(rx: Prescription, r: Records, now: datetime) -> list[Requirement]:
    c, ph = r.confirmation, r.pharmacy
    valid = (c is not None and c.state == "issued" and c.prescription_id == rx.id
             and ph is not None and c.pharmacy_id == ph.id)
    counselling = r.counselling
    return [
        need(valid, "R26", "R26_CONFIRMATION_INVALID",
             "a confirmation number issued to this pharmacy for this authorization",
             "obtain a confirmation number"),
        need(c is not None and now <= c.expires_at, "R27", "R27_CONFIRMATION_EXPIRED",
             "confirmation number unexpired", "obtain a new confirmation number"),
        need(counselling is not None and counselling.complete, "R29", "R29_COUNSELLING_INCOMPLETE",
             "patient counselled, education checklist completed, Medication Guide given",
             "complete the counselling checklist"),
    ]


def evaluate(stage: str, r: Records, program: Program, now: datetime) -> Decision:
    """The gate for `stage`: authorize (prescriber), confirm and dispense (pharmacy); readiness
    is the patient-level part alone, for status pages."""
    if stage not in STAGES or (r.prescription is None) != (stage == "readiness"):
        raise ValueError(f"stage {stage!r} with prescription {r.prescription!r}")
    params = program.at(now)
    category = category_of(r.patient, now.date(), params)
    reqs = [prescriber_requirement(r.prescriber_certification, program.id, params, now)]
    if stage in ("confirm", "dispense"):
        reqs.append(pharmacy_requirement(r.pharmacy_certification if r.pharmacy else None,
                                         program.id, params, now))
    reqs += patient_requirements(r, params, now)
    if category in FRP_CATEGORIES:
        authorized_at = r.prescription.authorized_at if r.prescription else None
        reference = authorized_at if stage in ("confirm", "dispense") and authorized_at else now
        reqs += evaluate_tests(r.tests, r.ppafs, r.dispenses, r.patient.cycles_regular, reference,
                               params).requirements
    reqs += survey_requirements(r, params, now)
    if r.prescription is not None:
        reqs += prescription_requirements(r.prescription, r, stage, params, now, category)
        if stage == "dispense":
            reqs += dispense_requirements(r.prescription, r, now)
    return Decision(stage, tuple(reqs))


def authorization_expiry(r: Records, program: Program, now: datetime) -> tuple[datetime, str | None]:
    """R23: FRP from the qualifying negative test, everyone else from issue."""
    params = program.at(now)
    if category_of(r.patient, now.date(), params) in FRP_CATEGORIES:
        window = evaluate_tests(r.tests, r.ppafs, r.dispenses, r.patient.cycles_regular, now, params)
        if window.qualifying is None:
            raise ValueError("no qualifying test: authorize only after the gate passed")
        test = window.qualifying
        return test.collected_at + timedelta(days=params.frp_authorization_valid_days), test.id
    return now + timedelta(days=params.authorization_valid_days), None
