"""Validated inputs of the use cases; a bad field becomes InvalidInput naming it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from rems.domain import contact, inputs
from rems.domain.errors import InvalidInput
from workflows.products import NDC_FORMS, ndc11
from workflows.program import CATEGORIES


def _aware(value: datetime) -> datetime:
    """T1: an instant carries its offset and is kept in UTC (an offset that pushes it outside the
    calendar, e.g. 0001-01-01T00:00+00:01, is refused, not a 500 later)."""
    if value.tzinfo is None:
        raise ValueError("needs a timezone (e.g. 2026-11-24T09:00:00Z)")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the supported range of dates") from None


def _ndc(value: str) -> str:
    """Issue 17 item 7: a product's NDC in its 11-digit form (the FDA's 10-digit forms padded)."""
    ndc = ndc11(value)
    if ndc is None:
        raise ValueError(f"must be {NDC_FORMS}")
    return ndc


def _category(value: str) -> str:
    if value not in CATEGORIES:
        raise ValueError(f"must be one of {', '.join(CATEGORIES)}")
    return value


Moment = Annotated[datetime, AfterValidator(_aware)]
Category = Annotated[str, AfterValidator(_category)]
# Every text a use case takes is plain: no control character (NUL, CR/LF, TAB, ESC...) reaches a
# record, whichever interface sent it (docs/input.md).
Plain = AfterValidator(inputs.plain)
Text = Annotated[str, Field(min_length=1, max_length=200), Plain]
Key = Annotated[str, Field(min_length=1, max_length=40), Plain]
Reason = Annotated[str, Field(min_length=1, max_length=500), Plain]
Npi = Annotated[str, AfterValidator(inputs.npi)]  # R1: 10 digits, the last the Luhn check digit
NcpdpId = Annotated[str, AfterValidator(inputs.ncpdp_id)]  # R25: the 7-digit NCPDP provider id
# Issue 19 item 3: the one definition of each input limit; the API's bodies (rems.schemas) are
# built from these types, so the OpenAPI document states the limits the commands check.
Zone = Annotated[str, Field(min_length=1, max_length=64), Plain]  # T1: an IANA time zone name
PhoneText = Annotated[str, Field(min_length=1, max_length=40), Plain]
EmailText = Annotated[str, Field(min_length=1, max_length=254), Plain]
StrengthText = Annotated[str, Field(min_length=1, max_length=40), Plain]
NdcText = Annotated[str, Field(max_length=20)]
DaysSupply = Annotated[int, Field(gt=0, le=366)]  # R24
Quantity = Annotated[int, Field(gt=0, le=10000)]
Refills = Annotated[int, Field(ge=0, le=99)]  # R24
Sensitivity = Annotated[int, Field(gt=0, le=100000)]  # R10, in mIU/mL
MAX_IDENTIFIERS = 20  # R34
# Issue 18: contact details (rems.domain.contact), normalised; the messages never repeat the value.
Phone = Annotated[PhoneText, AfterValidator(contact.phone)]
Email = Annotated[EmailText, AfterValidator(contact.email)]
Strength = Annotated[StrengthText, AfterValidator(contact.strength)]


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


C = TypeVar("C", bound=Command)


def parse(kind: type[C], **data: Any) -> C:
    try:
        return kind(**data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or kind.__name__
        raise InvalidInput(field, str(first["msg"]).removeprefix("Value error, ")) from None


class EnrollPrescriber(Command):  # R1, R2
    name: Text
    npi: Npi
    attested: bool
    education_reviewed: bool
    office_phone: Phone | None = None  # issue 18: the office's contact details, kept apart
    office_email: Email | None = None  # (contact_details, migration 0018), never logged

    def holder_fields(self) -> dict[str, Any]:
        """The fields the Prescriber record itself takes (the contact details are stored apart)."""
        return self.model_dump(exclude={"office_phone", "office_email"})


class EnrollPharmacy(Command):  # R25
    name: Text
    ncpdp_id: NcpdpId
    representative_enrolled: bool
    staff_trained: bool
    records_and_audits_accepted: bool


class ReproductiveFacts(Command):  # R7, R8, R35: every fact stated, none defaults to "no"
    menarche: bool
    hysterectomy: bool
    bilateral_oophorectomy: bool
    postmenopausal_since: date | None


class Identifier(Command):  # R34: an identifier the enrolling site gives, e.g. an MRN and its system
    system: Text
    value: Text


class PpafSignature(Command):  # R5, R6
    category: Category
    signed_by: Literal["patient", "guardian"] = "patient"
    guardian_name: Text | None = None


class PatientContact(Command):  # issue 18: how the office reaches the patient (and a guardian, R6)
    phone: Phone | None = None
    email: Email | None = None
    preferred: Literal["phone", "sms", "email"] | None = None
    guardian_phone: Phone | None = None
    guardian_email: Email | None = None

    @model_validator(mode="after")
    def _preferred_is_given(self) -> PatientContact:
        if self.preferred in ("phone", "sms") and self.phone is None:
            raise InvalidInput("contact.preferred", f"{self.preferred} needs the patient's phone number")
        if self.preferred == "email" and self.email is None:
            raise InvalidInput("contact.preferred", "email needs the patient's e-mail address")
        return self


class EnrollPatient(Command):  # R5-R8
    program_id: Key
    prescriber_id: Key
    name: Text
    sex: Literal["female", "male"]
    birth_date: date
    # R35: required for a female patient; only a male may leave them out (they cannot apply).
    facts: ReproductiveFacts | None = None
    cycles_regular: bool = True
    ppaf: PpafSignature
    identifiers: Annotated[list[Identifier], Field(max_length=MAX_IDENTIFIERS)] = []
    time_zone: Zone | None = None  # T1: IANA name
    contact: PatientContact | None = None  # issue 18: stored apart (contact_details), never logged

    @model_validator(mode="after")
    def _guardian_contact_needs_a_guardian(self) -> EnrollPatient:
        c = self.contact
        if c is not None and self.ppaf.signed_by != "guardian":
            for name in ("guardian_phone", "guardian_email"):
                if getattr(c, name) is not None:
                    raise InvalidInput(f"contact.{name}", "only for a patient whose PPAF a guardian signs (R6)")
        return self


class RenewPpaf(Command):  # R8, R35: a female's renewal states every fact
    patient_id: Key
    facts: ReproductiveFacts | None = None
    ppaf: PpafSignature


class CorrectFacts(Command):  # R35: the administrator's correction, with a reason
    patient_id: Key
    facts: ReproductiveFacts
    reason: Reason


class DecideReadmission(Command):  # R34: the administrator's decision to enrol a person again
    patient_id: Key  # an enrollment of the person (e.g. the one stopped for pregnancy)
    program_id: Key | None = None  # the program of the new enrollment; default that enrollment's
    reason: Reason


class TransferPatient(Command):  # R34: the same record, another prescriber
    patient_id: Key
    to_prescriber_id: Key


class RecordPregnancyTest(Command):  # R9-R12, R30
    patient_id: Key
    collected_at: Moment
    result: Literal["negative", "positive"]
    sensitivity_miu_per_ml: Sensitivity
    setting: Literal["lab", "office", "home"] = "lab"
    home_test_accepted: bool = False


class RecordPatientSurvey(Command):  # R20, R6
    patient_id: Key
    respondent: Literal["patient", "guardian"] = "patient"


class RequestAuthorization(Command):  # R19, R22-R24, R15
    patient_id: Key
    prescriber_id: Key
    days_supply: DaysSupply
    quantity: Quantity
    refills: Refills = 0
    contraception_counselling_attested: bool = False
    prescriber_survey_completed: bool = False
    ndc: Annotated[NdcText, AfterValidator(_ndc)] | None = None  # issue 17 item 7
    strength: Strength | None = None  # issue 18: as ordered ("4 mg"), shown at the counter


class PharmacyRequest(Command):  # R26
    number: Key
    pharmacy_id: Key
    patient_id: Key | None = None


class RecordDispense(Command):  # R27, R29, R33
    confirmation_number: Key
    pharmacy_id: Key
    counselled: bool
    education_checklist_completed: bool
    medication_guide_given: bool
