"""Tables and the imperative mapping of domain entities onto them (the domain imports no SQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import registry
from sqlalchemy.types import TypeDecorator

from rems.domain import access, lifecycle, model


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; refuses naive datetimes; always returns timezone-aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s", "pk": "pk_%(table_name)s"})


def _id(prefix: str | None = None) -> Column[str]:
    if prefix:
        return Column("id", String(32), ForeignKey(prefix), primary_key=True)
    return Column("id", String(32), primary_key=True)


prescribers = Table(
    "prescribers", metadata, _id(), Column("name", String(200), nullable=False),
    Column("npi", String(20), nullable=False, unique=True),
    Column("attested", Boolean, nullable=False), Column("education_reviewed", Boolean, nullable=False),
    Column("enrolled_at", UTCDateTime, nullable=False),
    Column("state", String(20), nullable=False, index=True),
    Column("certified_at", UTCDateTime), Column("version", Integer, nullable=False))

pharmacies = Table(
    "pharmacies", metadata, _id(), Column("name", String(200), nullable=False),
    Column("ncpdp_id", String(20), nullable=False, unique=True),
    Column("representative_enrolled", Boolean, nullable=False),
    Column("staff_trained", Boolean, nullable=False),
    Column("records_and_audits_accepted", Boolean, nullable=False),
    Column("enrolled_at", UTCDateTime, nullable=False),
    Column("state", String(20), nullable=False, index=True),
    Column("certified_at", UTCDateTime), Column("version", Integer, nullable=False))

patients = Table(
    "patients", metadata, _id(), Column("program_id", String(40), nullable=False),
    Column("prescriber_id", String(32), ForeignKey("prescribers.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False), Column("sex", String(10), nullable=False),
    Column("birth_date", Date, nullable=False, index=True),
    Column("enrolled_at", UTCDateTime, nullable=False),
    Column("menarche", Boolean, nullable=False), Column("hysterectomy", Boolean, nullable=False),
    Column("bilateral_oophorectomy", Boolean, nullable=False),
    Column("postmenopausal_since", Date), Column("cycles_regular", Boolean, nullable=False),
    Column("state", String(20), nullable=False, index=True),
    Column("test_phase", String(20), nullable=False, index=True),
    Column("hold_since", UTCDateTime), Column("version", Integer, nullable=False),
    # R34, T1 (migration 0005)
    Column("person_id", String(32), ForeignKey("persons.id"), nullable=False, index=True),
    Column("time_zone", String(64), nullable=False),
    Index("ix_patients_person_program", "person_id", "program_id"))

# R34: the person behind every enrollment; the identity is unique, so two enrollments of one
# person racing each other cannot create two persons.
persons = Table(
    "persons", metadata, _id(), Column("name_key", String(200), nullable=False),
    Column("birth_date", Date, nullable=False), Column("sex", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False), Column("version", Integer, nullable=False),
    UniqueConstraint("name_key", "birth_date", "sex", name="uq_persons_identity"))

person_identifiers = Table(
    "person_identifiers", metadata, _id(),
    Column("person_id", String(32), ForeignKey("persons.id"), nullable=False, index=True),
    Column("system", String(200), nullable=False), Column("value", String(200), nullable=False),
    UniqueConstraint("system", "value", name="uq_person_identifiers_system_value"))

readmission_decisions = Table(
    "readmission_decisions", metadata, _id(),
    Column("person_id", String(32), ForeignKey("persons.id"), nullable=False, index=True),
    Column("program_id", String(40), nullable=False), Column("decided_by", String(80), nullable=False),
    Column("reason", String(500), nullable=False), Column("decided_at", UTCDateTime, nullable=False))

# R1, R25: certification per program, each with its own state and recertification interval.
certifications = Table(
    "certifications", metadata, _id(), Column("program_id", String(40), nullable=False),
    Column("holder_kind", String(20), nullable=False), Column("holder_id", String(32), nullable=False),
    Column("state", String(20), nullable=False, index=True), Column("certified_at", UTCDateTime),
    Column("version", Integer, nullable=False),
    UniqueConstraint("holder_kind", "holder_id", "program_id", name="uq_certifications_holder_program"),
    Index("ix_certifications_certified_at", "certified_at"))

ppafs = Table(
    "ppafs", metadata, _id(),
    Column("patient_id", String(32), ForeignKey("patients.id"), nullable=False, index=True),
    Column("prescriber_id", String(32), ForeignKey("prescribers.id"), nullable=False),
    Column("category", String(20), nullable=False), Column("signed_at", UTCDateTime, nullable=False),
    Column("signed_by", String(10), nullable=False), Column("guardian_name", String(200)))

pregnancy_tests = Table(
    "pregnancy_tests", metadata, _id(),
    Column("patient_id", String(32), ForeignKey("patients.id"), nullable=False),
    Column("collected_at", UTCDateTime, nullable=False), Column("result", String(10), nullable=False),
    Column("sensitivity_miu_per_ml", Integer, nullable=False),
    Column("setting", String(10), nullable=False),
    Column("home_test_accepted", Boolean, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Index("ix_pregnancy_tests_patient_collected", "patient_id", "collected_at"))

patient_surveys = Table(
    "patient_surveys", metadata, _id(),
    Column("patient_id", String(32), ForeignKey("patients.id"), nullable=False),
    Column("completed_at", UTCDateTime, nullable=False),
    Column("respondent", String(10), nullable=False),
    Index("ix_patient_surveys_patient_completed", "patient_id", "completed_at"))

prescriptions = Table(
    "prescriptions", metadata, _id(), Column("program_id", String(40), nullable=False),
    Column("patient_id", String(32), ForeignKey("patients.id"), nullable=False, index=True),
    Column("prescriber_id", String(32), ForeignKey("prescribers.id"), nullable=False),
    Column("category", String(20), nullable=False), Column("days_supply", Integer, nullable=False),
    Column("quantity", Integer, nullable=False), Column("refills", Integer, nullable=False),
    Column("contraception_counselling_attested", Boolean, nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("state", String(20), nullable=False, index=True),
    Column("number", String(40), unique=True), Column("authorized_at", UTCDateTime),
    Column("expires_at", UTCDateTime, index=True),
    Column("qualifying_test_id", String(32), ForeignKey("pregnancy_tests.id")),
    Column("version", Integer, nullable=False),
    Column("ndc", String(11)),  # issue 17 item 7: the product prescribed (11 digits), if named
    Column("strength", String(40)))  # issue 18 (migration 0018): as ordered, e.g. "4 mg", if given

prescriber_surveys = Table(
    "prescriber_surveys", metadata, _id(),
    Column("prescriber_id", String(32), ForeignKey("prescribers.id"), nullable=False),
    Column("prescription_id", String(32), ForeignKey("prescriptions.id"), nullable=False,
           unique=True),
    Column("completed_at", UTCDateTime, nullable=False))

confirmations = Table(
    "confirmations", metadata, _id(), Column("number", String(40), nullable=False, unique=True),
    Column("prescription_id", String(32), ForeignKey("prescriptions.id"), nullable=False),
    Column("pharmacy_id", String(32), ForeignKey("pharmacies.id"), nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    Column("state", String(20), nullable=False), Column("version", Integer, nullable=False),
    # R26: at most one live confirmation per authorization, enforced by the database.
    Index("uq_confirmations_live", "prescription_id", unique=True,
          sqlite_where=text("state = 'issued'"), postgresql_where=text("state = 'issued'")))

dispenses = Table(
    "dispenses", metadata, _id(),
    # R33: one authorization, one dispense, enforced by the database.
    Column("prescription_id", String(32), ForeignKey("prescriptions.id"), nullable=False,
           unique=True),
    Column("confirmation_id", String(32), ForeignKey("confirmations.id"), nullable=False,
           unique=True),
    Column("pharmacy_id", String(32), ForeignKey("pharmacies.id"), nullable=False),
    Column("patient_id", String(32), ForeignKey("patients.id"), nullable=False),
    Column("dispensed_at", UTCDateTime, nullable=False), Column("days_supply", Integer, nullable=False),
    Column("counselled", Boolean, nullable=False),
    Column("education_checklist_completed", Boolean, nullable=False),
    Column("medication_guide_given", Boolean, nullable=False),
    Index("ix_dispenses_patient_dispensed", "patient_id", "dispensed_at"))

pregnancy_reports = Table(
    "pregnancy_reports", metadata, _id(),
    Column("patient_id", String(32), ForeignKey("patients.id"), nullable=False, index=True),
    Column("reported_at", UTCDateTime, nullable=False), Column("source", String(20), nullable=False),
    Column("status", String(20), nullable=False))

audit_log = Table(
    "audit_log", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False), Column("actor", String(80), nullable=False),
    Column("entity", String(40), nullable=False), Column("entity_id", String(32), nullable=False),
    Column("trigger", String(40), nullable=False), Column("from_state", String(20)),
    Column("to_state", String(20)), Column("reasons", JSON, nullable=False),
    Column("request_id", String(64)),
    Index("ix_audit_log_entity", "entity", "entity_id", "id"),
    # Issue 6: the hash chain; seq is unique so two writers can never fork it.
    Column("refs", JSON), Column("seq", Integer), Column("prev_hash", String(64)),
    Column("hash", String(64)), Index("uq_audit_log_seq", "seq", unique=True),
    Index("ix_audit_log_at", "at"))

# Issue 14 item 3: entries committed by writers and not yet chained by the sealer (rems/adapters/audit_chain.py).
audit_pending = Table(
    "audit_pending", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False), Column("actor", String(80), nullable=False),
    Column("entity", String(40), nullable=False), Column("entity_id", String(32), nullable=False),
    Column("trigger", String(40), nullable=False), Column("from_state", String(20)),
    Column("to_state", String(20)), Column("reasons", JSON, nullable=False),
    Column("request_id", String(64)), Column("refs", JSON))

# Issue 6: the newest entry of the chain, one row; only the sealer locks it, briefly.
audit_chain_head = Table(
    "audit_chain_head", metadata, Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False), Column("hash", String(64), nullable=False))

# Issue 3: API bearer tokens (only their SHA-256 is stored) and the responses of idempotent POSTs.
api_tokens = Table(
    "api_tokens", metadata, _id(), Column("role", String(20), nullable=False),
    Column("actor_id", String(32), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False), Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime))

idempotency_keys = Table(
    "idempotency_keys", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
    Column("actor", String(80), nullable=False), Column("key", String(200), nullable=False),
    Column("request", String(300), nullable=False), Column("body_hash", String(64), nullable=False),
    # Issue 15 item 9: NULL until the response is stored, after the effect's commit (idempotency.py).
    Column("status", Integer), Column("response", JSON),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("actor", "key", name="uq_idempotency_keys_actor_key"))

_VERSIONED = {model.Prescriber: prescribers, model.Pharmacy: pharmacies, model.Patient: patients,
              model.Prescription: prescriptions, model.Confirmation: confirmations,
              model.Person: persons, model.Certification: certifications}
_PLAIN = {model.Ppaf: ppafs, model.PregnancyTest: pregnancy_tests,
          model.PatientSurvey: patient_surveys, model.PrescriberSurvey: prescriber_surveys,
          model.Dispense: dispenses, model.PregnancyReport: pregnancy_reports,
          model.AuditEntry: audit_log, access.ApiToken: api_tokens,
          model.PersonIdentifier: person_identifiers, model.ReadmissionDecision: readmission_decisions}
mapper_registry = registry(metadata=metadata)


def start_mappers() -> None:
    """Map once per process; idempotent."""
    if mapper_registry.mappers:
        return
    for cls, table in _VERSIONED.items():
        # Optimistic concurrency (STYLE 6): an UPDATE that finds another version fails.
        mapper_registry.map_imperatively(cls, table, version_id_col=table.c.version)
    for cls, table in _PLAIN.items():
        mapper_registry.map_imperatively(cls, table)

# Issue 4: the reminder outbox. The natural key makes a reminder at-most-once however often the
# sweep runs; state changes are compare-and-set UPDATEs (rems/services/reminders/notifications.py).
notifications = Table(
    "notifications", metadata, _id(), Column("recipient", String(80), nullable=False),
    Column("kind", String(40), nullable=False), Column("subject", String(32), nullable=False),
    Column("due_on", Date, nullable=False), Column("rule", String(8), nullable=False),
    Column("channel", String(10), nullable=False), Column("state", String(10), nullable=False),
    Column("attempts", Integer, nullable=False), Column("created_at", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False), Column("claim_token", String(32)),
    Column("lease_until", UTCDateTime), Column("enqueued_at", UTCDateTime),
    Column("sent_at", UTCDateTime), Column("last_error", String(300)),
    UniqueConstraint("recipient", "kind", "subject", "due_on", name="uq_notifications_natural_key"),
    Index("ix_notifications_state_next", "state", "next_attempt_at"))

notification_contacts = Table(
    "notification_contacts", metadata, Column("recipient", String(80), primary_key=True),
    Column("email", String(254)), Column("phone", String(32)),
    Column("updated_at", UTCDateTime, nullable=False))

# Issue 4: the reminder sweep reads what falls due in a window of days; these keep it scaling with
# what is due, not with the population.
Index("ix_pregnancy_tests_collected", pregnancy_tests.c.collected_at)
Index("ix_patient_surveys_completed", patient_surveys.c.completed_at)
Index("ix_dispenses_supply_dispensed", dispenses.c.days_supply, dispenses.c.dispensed_at)
Index("ix_dispenses_dispensed", dispenses.c.dispensed_at)
Index("ix_prescriptions_state_requested", prescriptions.c.state, prescriptions.c.requested_at)
Index("ix_patients_postmenopausal_since", patients.c.postmenopausal_since)
Index("ix_prescribers_certified_at", prescribers.c.certified_at)
Index("ix_pharmacies_certified_at", pharmacies.c.certified_at)
# Issue 14 item 6 (migration 0007): the expiry sweep and the expired-record reminders select a
# state within a range of expiries.
Index("ix_prescriptions_state_expires", prescriptions.c.state, prescriptions.c.expires_at)
Index("ix_confirmations_state_expires", confirmations.c.state, confirmations.c.expires_at)
_PLAIN.update({model.Notification: notifications, model.Contact: notification_contacts})

# Issue 15 item 8: a refused request without an identity is counted here, per minute and route,
# instead of one chained audit entry each (rems/http/anonymous.py).
anonymous_refusals = Table(
    "anonymous_refusals", metadata, Column("minute", UTCDateTime, primary_key=True),
    Column("route", String(200), primary_key=True), Column("code", String(40), primary_key=True),
    Column("count", Integer, nullable=False))

# Issue 16 (standards lane): the `jti` of every CDS Hooks JWT accepted, kept until it expires, so a
# replayed token is refused on every replica (the primary key is the replay check).
cds_jwt_ids = Table(
    "cds_jwt_ids", metadata, Column("issuer", String(300), primary_key=True),
    Column("jti", String(200), primary_key=True), Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_cds_jwt_ids_expires", "expires_at"))

# Issue 16 item 5 (interop lane, migration 0016): the body of an outbox row that goes back to the
# prescriber's system (a FHIR Communication, an NCPDP RxFill), rendered in the transaction of the
# refusal or of the confirmation's end, so every attempt sends the same bytes (rems/services/reminders/loop.py).
loop_messages = Table(
    "loop_messages", metadata,
    Column("notification_id", String(32), ForeignKey("notifications.id"), primary_key=True),
    Column("issuer", String(300)), Column("media_type", String(40), nullable=False),
    Column("body", Text, nullable=False))


class DecimalText(TypeDecorator[Decimal]):
    """A Decimal stored as its exact text (a lab value as reported, on SQLite and PostgreSQL alike)."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not isinstance(value, Decimal) or not value.is_finite():
            raise ValueError("a finite Decimal is required")
        return str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        try:
            return Decimal(value)
        except InvalidOperation:
            raise ValueError(f"not a decimal: {value!r}") from None


# Issue 17 item 1 (labs lane, migration 0011): lab results other than hCG (ALT, AST, ANC, bilirubin).
lab_results = Table(
    "lab_results", metadata, _id(),
    Column("patient_id", String(32), ForeignKey("patients.id"), nullable=False),
    Column("analyte", String(20), nullable=False), Column("value", DecimalText, nullable=False),
    Column("unit", String(20), nullable=False), Column("upper_limit_normal", DecimalText),
    Column("lower_limit", DecimalText), Column("collected_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False), Column("setting", String(10), nullable=False),
    Index("ix_lab_results_patient_collected", "patient_id", "collected_at"))
_PLAIN[model.LabResult] = lab_results

# Issue 17 items 4-5 (lifecycle lane, migration 0013): lifecycle changes an administrator records,
# activations of the relaxations a program file declares, and every decision a waiver allowed.
program_status_changes = Table(
    "program_status_changes", metadata, _id(), Column("program_id", String(40), nullable=False, index=True),
    Column("state", String(40), nullable=False), Column("effective_from", Date, nullable=False),
    Column("reason", String(500), nullable=False), Column("actor", String(80), nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False))

relaxation_activations = Table(
    "relaxation_activations", metadata, _id(),
    Column("program_id", String(40), nullable=False, index=True), Column("name", String(80), nullable=False),
    Column("reason", String(500), nullable=False), Column("activated_by", String(80), nullable=False),
    Column("activated_at", UTCDateTime, nullable=False), Column("ends_at", UTCDateTime, nullable=False),
    Column("approved_by", String(80)), Column("approved_at", UTCDateTime),
    Column("revoked_by", String(80)), Column("revoked_at", UTCDateTime),
    Column("version", Integer, nullable=False))

waiver_uses = Table(
    "waiver_uses", metadata, _id(), Column("program_id", String(40), nullable=False),
    Column("prescription_id", String(32), nullable=False), Column("stage", String(20), nullable=False),
    Column("waiver", String(80), nullable=False), Column("codes", JSON, nullable=False),
    Column("actor", String(80), nullable=False), Column("at", UTCDateTime, nullable=False),
    Column("activation_id", String(32)),
    Index("ix_waiver_uses_program_at", "program_id", "at"))
_VERSIONED[lifecycle.RelaxationActivation] = relaxation_activations
_PLAIN.update({lifecycle.ProgramStatusChange: program_status_changes, lifecycle.WaiverUse: waiver_uses})

# Issue 14 item 6 (migration 0014): each patient's latest events, kept by triggers on INSERT into
# the (append-only) history tables; the reminder sweep selects on these dates (due_patients.py).
patient_latest = Table(
    "patient_latest", metadata,
    Column("patient_id", String(32), ForeignKey("patients.id"), primary_key=True),
    Column("last_negative_test_at", UTCDateTime), Column("last_negative_sensitivity", Integer),
    Column("last_survey_at", UTCDateTime), Column("first_dispense_at", UTCDateTime),
    Column("last_dispense_at", UTCDateTime), Column("last_dispense_supply", Integer),
    # migration 0021: the patient's program (set by the triggers from patients), so R28's ranges
    # are chosen per program on (program_id, supply, latest dispense)
    Column("program_id", String(40), nullable=False),
    Index("ix_patient_latest_test", "last_negative_test_at"),
    Index("ix_patient_latest_sensitivity", "last_negative_sensitivity"),
    Index("ix_patient_latest_survey", "last_survey_at"),
    Index("ix_patient_latest_program_dispense", "program_id", "last_dispense_supply", "last_dispense_at"))
# Issue 16 item 3 (questionnaires lane, migration 0017): every submitted form; a failed survey is
# kept here only (patient_surveys holds the passed ones, which alone satisfy R20).
form_responses = Table(
    "form_responses", metadata, _id(),
    Column("questionnaire_id", String(64), nullable=False), Column("program_id", String(40), nullable=False),
    Column("form", String(20), nullable=False), Column("subject_id", String(32), nullable=False),
    Column("submitted_at", UTCDateTime, nullable=False), Column("actor", String(80), nullable=False),
    Column("passed", Boolean, nullable=False), Column("wrong", JSON, nullable=False),
    Column("answers", JSON, nullable=False),
    Index("ix_form_responses_subject_submitted", "subject_id", "submitted_at"))
_PLAIN[model.FormResponse] = form_responses
# Issue 18 (office lane, migration 0018): how a patient (and a minor's guardian, R6) or a
# prescriber's office is reached, kept apart from the records the gate and the audit trail read,
# so no check loads them and no audit snapshot carries them; every column may be empty.
contact_details = Table(
    "contact_details", metadata,
    Column("holder_kind", String(20), primary_key=True),  # "patient" | "prescriber"
    Column("holder_id", String(32), primary_key=True),
    Column("phone", String(16)), Column("email", String(254)), Column("preferred", String(10)),
    Column("guardian_phone", String(16)), Column("guardian_email", String(254)),
    Column("recorded_at", UTCDateTime, nullable=False))
