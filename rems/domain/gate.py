"""The dispense gate (R1, R3, R5, R6, R8-R12, R15, R19-R30, R33-R36): every failing requirement,
not the first, each saying when it can be met at the earliest.

A pure function of the records, the program and `now`; time-based expiry is decided here,
whether or not a sweep has already expired a record. Every record given counts, whatever its
timestamp (a dispense stamped after `now` is on hand in full). Dates are the patient's (T1);
parameters are today's (T3), with a stored expiry as an upper bound.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from rems.domain import labs, schedule
from rems.domain.catalogue import (
    ENROLLED_PATIENT_STATE,
    R1_PRESCRIBER_NOT_CERTIFIED,
    R3_PRESCRIBER_SUSPENDED,
    R5_PATIENT_ACTIVE,
    R5_PATIENT_DISCONTINUED,
    R5_PATIENT_NOT_ENROLLED,
    R5_THERAPY_INTERRUPTED,
    R6_GUARDIAN_SIGNATURE_MISSING,
    R8_NEW_PPAF_REQUIRED,
    R12_PATIENT_ON_HOLD,
    R19_PRESCRIBER_SURVEY_MISSING,
    R20_PATIENT_SURVEY_DUE,
    R25_PHARMACY_LAPSED,
    R25_PHARMACY_NOT_CERTIFIED,
    R25_PHARMACY_SUSPENDED,
    R26_CONFIRMATION_INVALID,
    R27_CONFIRMATION_EXPIRED,
    R29_COUNSELLING_INCOMPLETE,
    R30_POSITIVE_TEST,
    R30_PREGNANCY_REPORTED,
    R34_PERSON_PREGNANCY_STOP,
    CertificationState,
    ConfirmationState,
    PatientState,
)
from rems.domain.categories import CHILD_CATEGORIES
from rems.domain.model import (
    Certification,
    Confirmation,
    Counselling,
    Dispense,
    LabResult,
    Patient,
    PatientSurvey,
    Pharmacy,
    Ppaf,
    PregnancyReport,
    PregnancyTest,
    Prescriber,
    Prescription,
)
from rems.domain.prescribing import (
    authorization_requirements,
    contraception_attestation,
    on_hand_requirement,
    product_units,
    supply_requirements,
)
from rems.domain.requirements import Decision, Requirement, need
from rems.domain.schedule import Today
from rems.domain.testing import evaluate_tests
from workflows.program import Parameters, Program
from workflows.vocabulary import COUNSELLING_ITEMS, KINDS, STOP_EVENTS, RequirementSpec

STAGES = ("readiness", "authorize", "confirm", "dispense")
READMISSION = "only after the program administrator records a readmission decision"
_PATIENT_STATE_CODES: dict[str, tuple[str, str, str]] = {
    PatientState.PENDING: ("R5", R5_PATIENT_NOT_ENROLLED, "enroll the patient with a PPAF"),
    PatientState.INTERRUPTED: ("R5", R5_THERAPY_INTERRUPTED, "resume therapy first"),
    PatientState.DISCONTINUED: ("R5", R5_PATIENT_DISCONTINUED, "the patient must be enrolled again"),
    PatientState.ON_HOLD: ("R12", R12_PATIENT_ON_HOLD, "record a new negative pregnancy test"),
    PatientState.INTERRUPTED_ON_HOLD: ("R12", R12_PATIENT_ON_HOLD,
                            "record a new negative pregnancy test, then resume therapy"),
    PatientState.PREGNANCY_STOP: ("R30", R30_PREGNANCY_REPORTED, "therapy is stopped (R30)"),
}
_STOPPED = (CertificationState.SUSPENDED, CertificationState.REVOKED)  # R3, R25: until reinstated, or for good
# The states the gate compares, each looked up once (an enum member's lookup costs on the hot path).
_CERTIFIED, _LAPSED = CertificationState.CERTIFIED, CertificationState.LAPSED
_PREGNANCY_STOP, _ISSUED = PatientState.PREGNANCY_STOP, ConfirmationState.ISSUED


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
    # certified in it). Loaded by rems/services/dispensing/records.py.
    prescriber_certification: Certification | None = None
    pharmacy_certification: Certification | None = None
    # R30, R34: the person's pregnancy reports in every enrollment and program (`tests` above are
    # the person's too), and the administrator's latest readmission decision after a pregnancy
    # stop: history before it no longer blocks, nothing collected before it qualifies.
    pregnancy_reports: Sequence[PregnancyReport] = ()
    readmitted_at: datetime | None = None
    # R36: the patient's other prescriptions in this program (any state; the gate decides which
    # are open). Filled by rems/services/dispensing/prescriptions.py for the authorize stage.
    other_prescriptions: Sequence[Prescription] = ()
    lab_results: Sequence[LabResult] = ()  # issue 17 item 1: the person's lab results (rems/domain/labs.py)

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
    if c is not None and c.state in _STOPPED:
        return need(False, "R3", R3_PRESCRIBER_SUSPENDED,
                    f"prescriber certification in {program_id} is {c.state}",
                    "the program administrator must reinstate the prescriber")
    ok = (c is not None and c.state == _CERTIFIED
          and not _lapsed(c.certified_at, params.prescriber_recertification_days, now))
    return need(ok, "R1", R1_PRESCRIBER_NOT_CERTIFIED, f"prescriber is certified in {program_id}",
                f"the prescriber completes enrollment, attestation and REMS education for {program_id}")


def pharmacy_requirement(c: Certification | None, program_id: str, params: Parameters,
                         now: datetime) -> Requirement:
    """R25: the pharmacy's certification in THIS program, lapsing on its program's interval."""
    if c is not None and c.program_id != program_id:
        c = None
    if c is not None and c.state in _STOPPED:
        return need(False, "R25", R25_PHARMACY_SUSPENDED,
                    f"pharmacy certification in {program_id} is {c.state}",
                    "the program administrator must reinstate the pharmacy")
    if c is not None and (c.state == _LAPSED or (c.state == _CERTIFIED and _lapsed(
            c.certified_at, params.pharmacy_recertification_days, now))):
        return need(False, "R25", R25_PHARMACY_LAPSED,
                    f"pharmacy certification in {program_id} has lapsed", "the pharmacy recertifies")
    return need(c is not None and c.state == _CERTIFIED, "R25", R25_PHARMACY_NOT_CERTIFIED,
                f"pharmacy is certified in {program_id}",
                f"the pharmacy completes certification for {program_id}")


def _forgiven(at: datetime, readmitted_at: datetime | None) -> bool:
    """R34: history before the administrator's readmission decision no longer blocks."""
    return readmitted_at is not None and at < readmitted_at


def safety_requirements(r: Records, events: Sequence[str] = STOP_EVENTS) -> list[Requirement]:
    """R30, R34: a positive test or a pregnancy report of the person, in any enrollment, blocks
    (each as its program declares it among its stop events)."""
    positive = [t for t in r.tests if t.result == "positive"
                and not _forgiven(max(t.collected_at, t.recorded_at), r.readmitted_at)]
    reports = [p for p in r.pregnancy_reports if not _forgiven(p.reported_at, r.readmitted_at)]
    elsewhere = [p for p in reports if p.patient_id != r.patient.id]
    reqs = []
    if "positive_pregnancy_test" in events:
        reqs.append(need(not positive, "R30", R30_POSITIVE_TEST, "no positive pregnancy test",
                         "therapy is stopped (R30)", READMISSION))
    if "pregnancy_report" not in events:
        return reqs
    reqs.append(need(not elsewhere, "R34", R34_PERSON_PREGNANCY_STOP,
                     "no pregnancy reported in another enrollment of this person",
                     "therapy is stopped for the person in every enrollment (R30, R34)", READMISSION))
    if r.patient.state != _PREGNANCY_STOP and len(reports) > len(elsewhere):
        reqs.append(need(False, "R30", R30_PREGNANCY_REPORTED, "no pregnancy reported",
                         "therapy is stopped (R30)", READMISSION))
    return reqs


def patient_requirements(r: Records, t: Today, agreement_form: bool = True,
                         guardian_for_children: bool = True) -> list[Requirement]:
    """R5, R12, R30 (the enrollment's state), R8 (a PPAF for the current category), R6 (a
    guardian's signature for a child)."""
    patient, ppaf, current = r.patient, r.ppaf, t.category
    rule, code, remedy = _PATIENT_STATE_CODES.get(patient.state, ("R5", R5_PATIENT_ACTIVE, ""))
    reqs = [need(patient.state == ENROLLED_PATIENT_STATE, rule, code, f"patient enrollment is {patient.state}", remedy,
                 READMISSION if patient.state == _PREGNANCY_STOP else remedy or None)]
    if agreement_form:
        reqs.append(need(ppaf is not None and ppaf.category == current, "R8", R8_NEW_PPAF_REQUIRED,
                         f"a PPAF for the patient's current category ({current})",
                         f"the prescriber signs a new PPAF for category {current}",
                         f"after a new PPAF for category {current}"))
    if guardian_for_children and current in CHILD_CATEGORIES:
        reqs.append(need(ppaf is not None and ppaf.signed_by == "guardian", "R6",
                         R6_GUARDIAN_SIGNATURE_MISSING, "a parent or guardian signed the PPAF",
                         "a parent or guardian signs the PPAF", "after a PPAF signed by a parent or guardian"))
    return reqs


def earlier_dispenses(r: Records) -> list[Dispense]:
    """R20, R28: every dispense of the person in this program but this prescription's own."""
    rx_id = r.prescription.id if r.prescription is not None else None
    return [d for d in r.dispenses if d.prescription_id != rx_id]


def patient_survey_requirement(r: Records, t: Today) -> Requirement:
    """R20: one survey per prescription, adult FNRP by interval."""
    rule = t.params.survey[t.category]
    until = schedule.survey_valid_until(rule, t.category, r.patient_surveys, earlier_dispenses(r), t.tz)
    per_rx = t.category not in schedule.INTERVAL_ONLY_CATEGORIES
    survey = need(until is None or t.now <= until, "R20", R20_PATIENT_SURVEY_DUE,
                  f"a patient survey completed {'after the previous dispense and ' if per_rx else ''}"
                  f"within the last {rule.interval_days} days",
                  "the patient (or guardian for a child) completes the patient survey",
                  "after the patient (or guardian) completes a patient survey")
    return survey


def prescriber_survey_requirement(r: Records) -> Requirement:
    """R19: the prescriber's survey for this prescription."""
    return need(r.prescriber_survey_done, "R19", R19_PRESCRIBER_SURVEY_MISSING,
                "prescriber survey completed for this prescription",
                "the prescriber completes the prescriber survey for this prescription",
                "after the prescriber survey for this prescription")


def confirmation_requirements(rx: Prescription, r: Records, t: Today) -> list[Requirement]:
    """R26, R27: a confirmation number issued to this pharmacy for this authorization, unexpired."""
    c, ph = r.confirmation, r.pharmacy
    valid = (c is not None and c.state == _ISSUED and c.prescription_id == rx.id
             and ph is not None and c.pharmacy_id == ph.id)
    return [
        need(valid, "R26", R26_CONFIRMATION_INVALID,
             "a confirmation number issued to this pharmacy for this authorization",
             "obtain a confirmation number", "after a new confirmation number"),
        need(c is not None and t.now <= schedule.confirmation_expiry(c, t.params), "R27",
             R27_CONFIRMATION_EXPIRED, "confirmation number unexpired", "obtain a new confirmation number",
             "after a new confirmation number"),
    ]


_CHECKLIST_WORDS = {"counselled": "patient counselled", "education_checklist_completed":
                    "education checklist completed", "medication_guide_given": "Medication Guide given"}


def counselling_requirement(r: Records, checklist: Sequence[str] = COUNSELLING_ITEMS) -> Requirement:
    """R29: every item of the program's counselling checklist recorded for this dispense."""
    c = r.counselling
    missing = [item for item in checklist if c is None or not getattr(c, item)]
    words = ", ".join(_CHECKLIST_WORDS[item] for item in checklist)
    return need(not missing, "R29", R29_COUNSELLING_INCOMPLETE, words[0].upper() + words[1:],
                "complete the counselling checklist: " + ", ".join(_CHECKLIST_WORDS[i] for i in missing)
                if missing else "complete the counselling checklist", "once counselling is recorded")


def today_of(r: Records, program: Program, now: datetime, version_on: date | None = None) -> Today:
    """`version_on`: the program's date whose parameters apply (default: today's, T3)."""
    tz = schedule.patient_tz(r.patient, program)
    params = schedule.params_at(program, now) if version_on is None else program.at(version_on)
    return Today(params, tz, schedule.current_category(r.patient, program, now), now)


@dataclass(frozen=True)
class _Context:
    """One evaluation: the stage, the records, today's facts."""

    stage: str
    r: Records
    t: Today
    program: Program


def _certification(spec: RequirementSpec, c: _Context) -> list[Requirement]:
    if spec.options["stakeholder"] == "prescriber":
        return [prescriber_requirement(c.r.prescriber_certification, c.program.id, c.t.params, c.t.now)]
    return [pharmacy_requirement(c.r.pharmacy_certification if c.r.pharmacy else None, c.program.id,
                                 c.t.params, c.t.now)]


def _enrollment(spec: RequirementSpec, c: _Context) -> list[Requirement]:
    return patient_requirements(c.r, c.t, spec.options["agreement_form"], spec.options["guardian_for_children"])


def _stop_events(spec: RequirementSpec, c: _Context) -> list[Requirement]:
    return safety_requirements(c.r, spec.options["events"])


def _lab_test(spec: RequirementSpec, c: _Context) -> list[Requirement]:
    if spec.options["analyte"] != "hCG":
        return lab_monitoring(spec, c)
    r = c.r
    authorized_at = r.prescription.authorized_at if r.prescription else None
    reference = authorized_at if c.stage in ("confirm", "dispense") and authorized_at else c.t.now
    return list(evaluate_tests(r.tests, r.ppafs, r.dispenses, r.patient.cycles_regular, reference,
                               c.t.params, c.t.tz, r.readmitted_at).requirements)


def lab_monitoring(spec: RequirementSpec, c: _Context) -> list[Requirement]:
    """Lab tests of analytes other than hCG (ALT, AST, ANC): rems.domain.labs. Treatment starts
    at the person's first dispense in the program; results before a readmission decision (R34)
    no longer count, so a stop is lifted only by that decision."""
    r = c.r
    results = [x for x in r.lab_results if r.readmitted_at is None or x.collected_at >= r.readmitted_at]
    return labs.lab_requirements(spec.options["lab_rule"], spec.rule, spec.fda_code, results,
                                 labs.treatment_start_of(r.dispenses), c.t.now, c.t.tz)


def _survey(spec: RequirementSpec, c: _Context) -> list[Requirement]:
    if spec.options["respondent"] == "patient":
        return [patient_survey_requirement(c.r, c.t)]
    return [] if c.r.prescription is None else [prescriber_survey_requirement(c.r)]


def _attestation(spec: RequirementSpec, c: _Context) -> list[Requirement]:
    assert c.r.prescription is not None
    return [contraception_attestation(c.r.prescription)]


def _supply(spec: RequirementSpec, c: _Context) -> list[Requirement]:
    assert c.r.prescription is not None
    # R24: the product's units a day when the prescription names one (issue 17 item 7)
    return supply_requirements(c.r.prescription, c.t, product_units(c.program, c.r.prescription, c.t.now))


def _authorization(spec: RequirementSpec, c: _Context) -> list[Requirement]:
    assert c.r.prescription is not None
    return authorization_requirements(c.r.prescription, c.stage, c.t, c.r.tests, c.r.other_prescriptions,
                                      c.r.patient)


def _refill_window(spec: RequirementSpec, c: _Context) -> list[Requirement]:
    return [on_hand_requirement(earlier_dispenses(c.r), c.t)]


def _confirmation(spec: RequirementSpec, c: _Context) -> list[Requirement]:
    assert c.r.prescription is not None
    return confirmation_requirements(c.r.prescription, c.r, c.t)


def _counselling(spec: RequirementSpec, c: _Context) -> list[Requirement]:
    return [counselling_requirement(c.r, spec.options["checklist"])]


Evaluator = Callable[[RequirementSpec, _Context], list[Requirement]]
# One evaluator per kind of the vocabulary (workflows/vocabulary.py KINDS).
EVALUATORS: dict[str, Evaluator] = {
    "certification": _certification, "enrollment": _enrollment, "stop_events": _stop_events,
    "lab_test": _lab_test, "survey": _survey, "attestation": _attestation, "supply": _supply,
    "authorization": _authorization, "refill_window": _refill_window,
    "pharmacy_confirmation": _confirmation, "counselling": _counselling,
}


def _declared(spec: RequirementSpec, reqs: list[Requirement]) -> list[Requirement]:
    """The program's rule ids and FDA code on what a kind's evaluator reports (built directly:
    `dataclasses.replace` was 40 % of the gate's time, issue 14)."""
    code = spec.fda_code
    return [Requirement(spec.rule_of(q.rule), q.code, q.met, q.message, q.remedy, q.earliest, code)
            for q in reqs]


def in_force(program: Program, stage: str, category: str, on: date,
             prescription: bool) -> list[RequirementSpec]:
    """The requirements the gate evaluates: in force on the program's date `on`, for this stage
    and the patient's category (a kind that needs a prescription only when there is one)."""
    return [spec for spec in program.requirements_on(on)
            if stage in spec.stages and spec.applies(category)
            and (prescription or not KINDS[spec.kind].needs_prescription)]


def evaluate(stage: str, r: Records, program: Program, now: datetime,
             version_on: date | None = None) -> Decision:
    """The gate for `stage`: authorize (prescriber), confirm and dispense (pharmacy); readiness
    is the patient-level part alone, for status pages. Every requirement the program declares in
    force (issue 17), in its file's order. `version_on`: evaluate today's records under the
    program as it stands on that date (a version not yet in force: `rems program diff`)."""
    if stage not in STAGES or (r.prescription is None) != (stage == "readiness"):
        raise ValueError(f"stage {stage!r} with prescription {r.prescription!r}")
    t = today_of(r, program, now, version_on)
    context = _Context(stage, r, t, program)
    on = program.day_of(now) if version_on is None else version_on
    reqs: list[Requirement] = []
    for spec in in_force(program, stage, t.category, on, r.prescription is not None):
        reqs += _declared(spec, EVALUATORS[spec.kind](spec, context))
    return Decision(stage, tuple(reqs))


def declares(program: Program, now: datetime | date, category: str, kind: str, **options: str) -> bool:
    """Does the program have a requirement of `kind` (with these options) in force on the date of
    `now` that applies to `category`? Status pages and reminders ask before showing a due date."""
    return any(spec.kind == kind and spec.applies(category)
               and all(spec.options.get(k) == v for k, v in options.items())
               for spec in program.requirements_on(now))


def lab_monitoring_in_force(program: Program, category: str, now: datetime) -> list[RequirementSpec]:
    """The lab tests other than hCG in force today for `category` (status pages show when each is due)."""
    return [spec for spec in program.requirements_on(now) if spec.kind == "lab_test"
            and spec.options["analyte"] != "hCG" and spec.applies(category)]


def pregnancy_testing(program: Program, category: str, now: datetime) -> bool:
    """R9-R11, R23: does a pregnancy-test (hCG) requirement apply to `category` today?"""
    return declares(program, now, category, "lab_test", analyte="hCG")


def authorization_expiry(r: Records, program: Program, now: datetime) -> tuple[datetime, str | None]:
    """R23: where pregnancy tests apply (FRP), to the end of day 7 from the qualifying negative
    test (patient's calendar); everyone else 30 days from issue (the numbers: today's parameters)."""
    t = today_of(r, program, now)
    if pregnancy_testing(program, t.category, now):
        window = evaluate_tests(r.tests, r.ppafs, r.dispenses, r.patient.cycles_regular, now, t.params,
                                t.tz, r.readmitted_at)
        if window.qualifying is None:
            raise ValueError("no qualifying test: authorize only after the gate passed")
        test = window.qualifying
        return schedule.authorization_expiry(t.category, now, test, t.params, t.tz), test.id
    return schedule.authorization_expiry(t.category, now, None, t.params, t.tz), None
