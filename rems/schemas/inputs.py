"""Request bodies of the API. Every input limit is declared once, in rems.services.commands (the
commands every entry point's input goes through): the fields here take those types (`cmd.Text`,
`cmd.DaysSupply`, ...) and add their descriptions, and the services validate again through the
commands. Only the API's own strictness (`In`), its documentation (patterns, enums) and what only
the API takes (a non-empty `ndc`, the survey's answers) are declared here."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Field

from rems.schemas.common import Id, In
from rems.services import commands as cmd
from rems.services.commands import Moment
from workflows.program import CATEGORIES

Category = Literal[CATEGORIES]  # type: ignore[valid-type]  # R5a, from the program definitions
Name = Annotated[cmd.Text, Field(description="Full name")]
# Issue 18: contact details, checked by the commands (a bad one is a 422 naming the field, the
# value never repeated) and never logged.
_PHONE = "{}: phone number in international form (+, country code, number), e.g. +1 555 010 0123"
_EMAIL = "{}: e-mail address"


class EnrollPrescriberIn(In):
    name: Name
    npi: cmd.Npi = Field(
        pattern=r"^[0-9]{10}$", description="R1: 10-digit National Provider Identifier, the last digit its "
                                         "check digit (Luhn over 80840 and the first nine)")
    attested: bool = Field(description="R2: the prescriber signed the enrollment attestation")
    education_reviewed: bool = Field(description="R1: the REMS education was reviewed")
    office_phone: cmd.PhoneText | None = Field(default=None, description=_PHONE.format("The prescriber's office"))
    office_email: cmd.EmailText | None = Field(default=None, description=_EMAIL.format("The prescriber's office"))


class EnrollPharmacyIn(In):
    name: Name
    ncpdp_id: str = Field(pattern=r"^[0-9]{7}$", description="R25: 7-digit NCPDP provider id of the pharmacy")
    representative_enrolled: bool = Field(description="R25: an authorized representative enrolls it")
    staff_trained: bool = Field(description="R25: dispensing staff are trained on the REMS")
    records_and_audits_accepted: bool = Field(description="R25: records are kept, audits accepted")


class CertificationChangeIn(In):
    program_id: cmd.Key | None = Field(
        default=None,
        description="R1, R25: the program of the certification (certification is per program); "
                    "may be left out only where the deployment runs a single program")


class ReproductiveFactsIn(In):
    """R35: every fact is stated; nothing defaults to "no"."""

    menarche: bool = Field(description="R8: a female child has reached menarche (once recorded, "
                                       "only the administrator can unset it)")
    hysterectomy: bool = Field(description="R7: had a hysterectomy (one-way, R35)")
    bilateral_oophorectomy: bool = Field(description="R7: had a bilateral oophorectomy (one-way, R35)")
    postmenopausal_since: date | None = Field(
        strict=False, description="R7: start of natural menopause, or null (24 consecutive months make her FNRP; "
                    "R35: not in the future, not before her 10th birthday)")


class IdentifierIn(In):
    system: cmd.Text = Field(description="Who issues the identifier, e.g. a hospital's MRN namespace URI")
    value: cmd.Text = Field(description="The identifier, e.g. the MRN")


class PpafIn(In):
    category: Category = Field(description="R5a: the one risk category the PPAF is signed for")
    signed_by: Literal["patient", "guardian"] = Field(
        default="patient", description="R6: a parent or guardian signs for a child")
    guardian_name: cmd.Text | None = Field(default=None,
                                          description="R6: the guardian who signed, when a guardian signs")


class ContactIn(In):
    """Issue 18: how the office reaches the patient; a guardian's only when a guardian signs (R6)."""

    phone: cmd.PhoneText | None = Field(default=None, description=_PHONE.format("The patient"))
    email: cmd.EmailText | None = Field(default=None, description=_EMAIL.format("The patient"))
    preferred: Literal["phone", "sms", "email"] | None = Field(
        default=None, description="The preferred channel; the matching phone or e-mail must be given")
    guardian_phone: cmd.PhoneText | None = Field(default=None, description=_PHONE.format("R6: the guardian"))
    guardian_email: cmd.EmailText | None = Field(default=None, description=_EMAIL.format("R6: the guardian"))


class EnrollPatientIn(In):
    program_id: cmd.Key = Field(default="pomalidomide",
                               description="REMS program id, one of the deployment's program files (e.g. pomalidomide, ipledge)")
    name: Name
    sex: Literal["female", "male"] = Field(description="Sex, for the risk category (R5a)")
    birth_date: date = Field(strict=False, description="Birth date (R6: a child is under 18)")
    facts: ReproductiveFactsIn | None = Field(
        default=None, description="R7, R8, R35: reproductive facts, every one stated; required for a "
                                  "female patient (may be left out for a male)")
    cycles_regular: bool = Field(default=True, description="R11: regular cycles test every 4 weeks, else 2")
    ppaf: PpafIn = Field(description="R5: the signed Patient-Physician Agreement Form")
    identifiers: list[IdentifierIn] = Field(
        default_factory=list, max_length=cmd.MAX_IDENTIFIERS,
        description="R34: identifiers the site gives (e.g. an MRN with its system), to match the person")
    time_zone: cmd.Zone | None = Field(
        default=None,
        description="T1: the patient's IANA time zone (default: the program's), e.g. America/Chicago")
    contact: ContactIn | None = Field(default=None, description="Issue 18: contact details, all optional")


class RenewPpafIn(In):
    facts: ReproductiveFactsIn | None = Field(
        default=None, description="R8, R35: the patient's current reproductive facts, every one "
                                  "stated; required for a female patient")
    ppaf: PpafIn = Field(description="R8: a PPAF for the category those facts give")


class PregnancyTestIn(In):
    collected_at: Moment = Field(strict=False, description="When the sample was collected (ISO 8601 with a zone)")
    result: Literal["negative", "positive"] = Field(description="R30: a positive result stops therapy")
    sensitivity_miu_per_ml: cmd.Sensitivity = Field(description="R10: the lowest hCG level the test detects; 50 mIU/mL or lower counts")
    setting: Literal["lab", "office", "home"] = Field(default="lab", description="Where the test was done")
    home_test_accepted: bool = Field(default=False, description="R10: the prescriber accepts a home test")


class PregnancyReportIn(In):
    source: Literal["patient", "partner"] = Field(
        default="patient", description="R30: the patient, or a male patient's partner, is pregnant")


class CyclesIn(In):
    regular: bool = Field(description="R11: whether menstrual cycles are regular")


class PrescriptionIn(In):
    patient_id: Id
    days_supply: cmd.DaysSupply = Field(description="R24: days of supply (the program allows 28)")
    quantity: cmd.Quantity = Field(description="Number of capsules")
    refills: cmd.Refills = Field(default=0, description="R24: refills (none are allowed)")
    contraception_counselling_attested: bool = Field(
        default=False, description="R15: the prescriber attests contraception counselling (FRP)")
    prescriber_survey_completed: bool = Field(
        default=False, description="R19: the prescriber survey for this prescription is completed now")
    ndc: cmd.NdcText | None = Field(default=None, min_length=1, description=(
        "The product prescribed (NDC, 11 digits or hyphenated 10): a product of the patient's program "
        "on the day; R24 then counts that product's units a day (docs/products.md)"))
    strength: cmd.StrengthText | None = Field(default=None, description=(
        'The strength ordered, a number and its unit (e.g. "4 mg"); shown to the pharmacist'))


class ConfirmationIn(In):
    patient_id: Id | None = Field(default=None, description="The patient, if the pharmacy has the id: a "
                                                    "number issued for someone else is then not found")


class DispenseIn(In):
    confirmation_number: cmd.Key = Field(description="R26: the confirmation number obtained for this fill")
    counselled: bool = Field(description="R29: the patient was counselled")
    education_checklist_completed: bool = Field(description="R29: the education checklist is done")
    medication_guide_given: bool = Field(description="R29: the Medication Guide was handed over")


class PatientSurveyIn(In):
    respondent: Literal["patient", "guardian"] = Field(
        default="patient", description="R6: a parent or guardian answers for a child")
    # the values are checked against each item's type by the service, which names the item
    answers: dict[Annotated[str, Field(max_length=64)], Any] | None = Field(
        default=None, max_length=100, description=(
            "R20, issue 16 item 3: linkId -> answer to the program's patient survey Questionnaire "
            "(`GET /fhir/r4/Questionnaire/{id}/$questionnaire-package`): true/false for a boolean item, "
            "the option's text for a choice, YYYY-MM-DD for a date. Required where the program declares "
            "the questions; a wrong answer to a knowledge question fails the survey (422, recorded as failed)."),
            examples=[{"share": False, "donate-blood": False}])
