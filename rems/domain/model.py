"""Entities of the REMS (R1-R36): plain classes, persisted by imperative mapping."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any


@dataclass(eq=False)
class Prescriber:  # R1, R2, R3
    id: str
    name: str
    npi: str
    attested: bool
    education_reviewed: bool
    enrolled_at: datetime
    # Not certification any more (R1: per program, `Certification`): "enrolled" for new rows; rows
    # older than migration 0005 keep what it copied to the default program. Never read.
    state: str = "enrolled"
    certified_at: datetime | None = None
    version: int = 0


@dataclass(eq=False)
class Certification:  # R1, R3, R25: a prescriber's or a pharmacy's certification in ONE program
    id: str
    program_id: str
    holder_kind: str  # "prescriber" | "pharmacy"
    holder_id: str
    state: str = "enrolled"  # the prescriber / pharmacy machine's states (workflows/definitions.py)
    certified_at: datetime | None = None
    version: int = 0


@dataclass(eq=False)
class Person:  # R34: the human being behind every enrollment, matched by identity
    id: str
    name_key: str  # the normalised name (rems.domain.identity)
    birth_date: date
    sex: str
    created_at: datetime
    version: int = 0


@dataclass(eq=False)
class PersonIdentifier:  # R34: an identifier an enrolling site gives (e.g. an MRN and its system)
    id: str
    person_id: str
    system: str
    value: str


@dataclass(eq=False)
class ReadmissionDecision:  # R34: the administrator's recorded decision to enrol a person again
    id: str  # after a pregnancy stop; safety history before `decided_at` no longer blocks
    person_id: str
    program_id: str
    decided_by: str
    reason: str
    decided_at: datetime


@dataclass(eq=False)
class Pharmacy:  # R25
    id: str
    name: str
    ncpdp_id: str
    representative_enrolled: bool
    staff_trained: bool
    records_and_audits_accepted: bool
    enrolled_at: datetime
    state: str = "enrolled"  # as Prescriber.state: certification is per program (R25, `Certification`)
    certified_at: datetime | None = None
    version: int = 0


@dataclass(eq=False)
class Patient:  # R5-R8, R12, R30
    id: str
    program_id: str
    prescriber_id: str
    name: str
    sex: str  # "female" | "male"
    birth_date: date
    enrolled_at: datetime
    menarche: bool = False
    hysterectomy: bool = False
    bilateral_oophorectomy: bool = False
    postmenopausal_since: date | None = None
    cycles_regular: bool = True
    state: str = "pending"
    test_phase: str = "not_required"
    hold_since: datetime | None = None
    version: int = 0
    person_id: str | None = None  # R34; set by enrollment, never None in the database
    time_zone: str | None = None  # T1: IANA zone; None only in hand-built tests (the program's zone)


@dataclass(eq=False)
class Ppaf:  # R5, R6, R8: the Patient-Physician Agreement Form for one risk category
    id: str
    patient_id: str
    prescriber_id: str
    category: str
    signed_at: datetime
    signed_by: str  # "patient" | "guardian"
    guardian_name: str | None = None


@dataclass(eq=False)
class PregnancyTest:  # R9-R12, R30
    id: str
    patient_id: str
    collected_at: datetime
    result: str  # "negative" | "positive"
    sensitivity_miu_per_ml: int
    setting: str  # "lab" | "office" | "home"
    home_test_accepted: bool
    recorded_at: datetime


@dataclass(eq=False)
class PatientSurvey:  # R20
    id: str
    patient_id: str
    completed_at: datetime
    respondent: str  # "patient" | "guardian"


@dataclass(eq=False)
class PrescriberSurvey:  # R19
    id: str
    prescriber_id: str
    prescription_id: str
    completed_at: datetime


@dataclass(eq=False)
class Prescription:  # R19, R22-R24, R33: carries the authorization once issued
    id: str
    program_id: str
    patient_id: str
    prescriber_id: str
    category: str
    days_supply: int
    quantity: int
    refills: int
    contraception_counselling_attested: bool
    requested_at: datetime
    state: str = "requested"
    number: str | None = None
    authorized_at: datetime | None = None
    expires_at: datetime | None = None
    qualifying_test_id: str | None = None
    version: int = 0
    ndc: str | None = None  # issue 17 item 7: the product prescribed (11 digits); R24 uses its units a day
    strength: str | None = None  # issue 18: the strength ordered ("4 mg"), shown to the pharmacist


@dataclass(eq=False)
class Confirmation:  # R26, R27
    id: str
    number: str
    prescription_id: str
    pharmacy_id: str
    issued_at: datetime
    expires_at: datetime
    state: str = "issued"
    version: int = 0


@dataclass(frozen=True)
class Counselling:  # R29
    counselled: bool
    education_checklist_completed: bool
    medication_guide_given: bool

    @property
    def complete(self) -> bool:
        return self.counselled and self.education_checklist_completed and self.medication_guide_given


@dataclass(eq=False)
class Dispense:  # R24, R28, R29, R33
    id: str
    prescription_id: str
    confirmation_id: str
    pharmacy_id: str
    patient_id: str
    dispensed_at: datetime
    days_supply: int
    counselled: bool
    education_checklist_completed: bool
    medication_guide_given: bool


@dataclass(eq=False)
class PregnancyReport:  # R30: for the manufacturer and FDA MedWatch
    id: str
    patient_id: str
    reported_at: datetime
    source: str  # "positive_test" | "patient" | "partner"
    status: str = "open"


@dataclass(eq=False)
class AuditEntry:  # STYLE 5: one row per transition, append-only
    at: datetime
    actor: str
    entity: str
    entity_id: str
    trigger: str
    from_state: str | None
    to_state: str | None
    reasons: list[dict[str, Any]] = field(default_factory=list)
    request_id: str | None = None
    id: int | None = None
    # Issue 6: ids of related records (e.g. {"pharmacy": "phm_…"}), never names or contact data,
    # and the hash chain (rems/domain/audit_chain.py, rems/adapters/audit_chain.py), set when the entry is committed.
    refs: dict[str, str] | None = None
    seq: int | None = None
    prev_hash: str | None = None
    hash: str | None = None


@dataclass(eq=False)
class Notification:  # issue 4: a reminder, sent at most once per natural key (recipient, kind, subject, due_on)
    id: str
    recipient: str  # "patient:pat_…" | "prescriber:prs_…" | "pharmacy:phm_…" (ids only, no contact data)
    kind: str  # e.g. "test_due_soon" (rems.services.reminder_kinds)
    subject: str  # the record the reminder is about
    due_on: date
    rule: str
    channel: str  # "email" | "webhook" | "outbox"
    created_at: datetime
    next_attempt_at: datetime
    state: str = "pending"  # pending -> sending -> sent | failed -> ... -> parked
    attempts: int = 0
    claim_token: str | None = None
    lease_until: datetime | None = None
    enqueued_at: datetime | None = None
    sent_at: datetime | None = None
    last_error: str | None = None


@dataclass(eq=False)
class Contact:  # issue 4: where a recipient's reminders go; never logged
    recipient: str
    updated_at: datetime
    email: str | None = None
    phone: str | None = None


@dataclass(eq=False)
class LabResult:  # issue 17 item 1: a lab value other than hCG (ALT, AST, ANC, bilirubin)
    id: str
    patient_id: str
    analyte: str  # workflows.labs.ANALYTES
    value: Decimal  # exact, as reported (stored as text)
    unit: str
    upper_limit_normal: Decimal | None  # that result's own ULN (needed for ULN multiples)
    lower_limit: Decimal | None  # that result's lower limit of normal (ANC-style floors)
    collected_at: datetime
    recorded_at: datetime
    setting: str  # "lab" | "office" | "home"


@dataclass(eq=False)
class FormResponse:  # issue 16 item 3: one submitted questionnaire; a failed survey is kept here only
    id: str
    questionnaire_id: str
    program_id: str
    form: str  # workflows.questionnaires.FORMS
    subject_id: str  # the patient, or the prescription of a prescriber survey (R19)
    submitted_at: datetime
    actor: str
    passed: bool  # False: a knowledge question answered wrong (R19/R20: it does not count)
    wrong: list[str]  # linkIds of the wrong knowledge answers
    answers: dict[str, Any]  # linkId -> the answer as given
