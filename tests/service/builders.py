"""A fluent scenario for service tests: certified actors, one enrolled patient, and a clock.

    s = Scenario(app).certified_prescriber().certified_pharmacy().enrolled("adult_frp").ready()
    rx = s.authorized()

Every call goes through the use cases, one unit of work each, at `s.now`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, select

from rems.adapters.uow import UnitOfWork
from rems.bootstrap import App
from rems.domain.errors import Refused
from rems.domain.inputs import npi_check_digit
from rems.domain.model import AuditEntry, Certification, Confirmation, Dispense, PregnancyTest, Prescription
from rems.domain.requirements import Decision
from rems.services.commands import (
    EnrollPatient,
    EnrollPharmacy,
    EnrollPrescriber,
    PharmacyRequest,
    RecordDispense,
    RecordPatientSurvey,
    RecordPregnancyTest,
    RequestAuthorization,
    parse,
)
from rems.services.context import Context
from rems.services.dispensing import prescriptions
from rems.services.dispensing.prescriptions import Outcome
from rems.services.enrollment import certification, patients
from tests.conftest import T0

T = TypeVar("T")
_serial = itertools.count(1)

# R5a: what each category looks like as facts (sex, age in years, reproductive facts).
PROFILES: dict[str, tuple[str, int, dict[str, Any]]] = {
    "adult_frp": ("female", 40, {}),
    "child_frp": ("female", 14, {"menarche": True}),
    "adult_fnrp": ("female", 45, {"hysterectomy": True}),
    "child_fnrp": ("female", 9, {}),
    "adult_male": ("male", 40, {}),
    "child_male": ("male", 12, {}),
}


def npi_of(n: int, base: int = 100_000_000) -> str:
    """The n-th test NPI: nine digits from `base`, then their check digit (R1; docs/input.md)."""
    first = f"{base + n}"
    return first + npi_check_digit(first)


# R35: a female's facts are stated in full; these are "none of them" (the profiles add to them).
NO_FACTS: dict[str, Any] = {"menarche": False, "hysterectomy": False, "bilateral_oophorectomy": False,
                            "postmenopausal_since": None}


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def codes(decision: Decision | Refused) -> list[str]:
    return [f.code for f in decision.failures]


class Scenario:
    def __init__(self, app: App, now: datetime = T0, program: str = "pomalidomide") -> None:
        # `program`: where actors are certified and patients enrolled unless a call names another
        self.app, self.now, self.program = app, now, program
        self.prescriber_id = self.pharmacy_id = self.patient_id = ""
        self.category = ""

    # -- the clock and plumbing ------------------------------------------------------------
    def advance(self, **delta: float) -> Scenario:
        self.now += timedelta(**delta)
        return self

    def ctx(self, actor: str = "tester") -> Context:
        return Context(actor, self.now)

    def call(self, service: Callable[..., T], *args: Any, actor: str = "tester", **kwargs: Any) -> T:
        with self.app.uow() as uow:
            return service(uow, self.ctx(actor), *args, **kwargs)

    def read(self, query: Callable[[UnitOfWork], T]) -> T:
        """Run a query in its own unit of work; the result stays readable after it closes."""
        with self.app.uow() as uow:
            result = query(uow)
            uow.session.expunge_all()
            return result

    def fetch(self, cls: type[T], key: str) -> T:
        return self.read(lambda uow: uow.get(cls, key))

    def rows(self, cls: type[T], *where: Any) -> list[T]:
        return self.read(lambda uow: list(uow.session.scalars(select(cls).where(*where))))

    def count(self, cls: type[Any], *where: Any) -> int:
        return self.read(lambda uow: uow.session.scalar(
            select(func.count()).select_from(cls).where(*where)) or 0)

    def trail(self, entity: str, key: str) -> list[tuple[str, str | None, str | None]]:
        return [(a.trigger, a.from_state, a.to_state) for a in self.audit(entity, key)]

    def audit(self, entity: str, key: str) -> list[AuditEntry]:
        return self.read(lambda uow: list(uow.audit_trails.of(entity, key)))

    # -- actors (R1, R25) ------------------------------------------------------------------
    def new_prescriber(self, certify: bool = True, programs: tuple[str, ...] | None = None) -> str:
        """Enrolled, and certified in `programs` (default: the scenario's program) (R1)."""
        n = next(_serial)
        doc = self.call(certification.enroll_prescriber, parse(
            EnrollPrescriber, name=f"Dr {n}", npi=npi_of(n), attested=True,
            education_reviewed=True), actor="admin")
        for program in (programs or (self.program,)) if certify else ():
            self.certify("prescriber", doc.id, program=program)
        return doc.id

    def new_pharmacy(self, certify: bool = True, programs: tuple[str, ...] | None = None) -> str:
        """Enrolled, and certified in `programs` (default: the scenario's program) (R25)."""
        n = next(_serial)
        ph = self.call(certification.enroll_pharmacy, parse(
            EnrollPharmacy, name=f"Pharmacy {n}", ncpdp_id=f"{1_000_000 + n}",
            representative_enrolled=True, staff_trained=True, records_and_audits_accepted=True),
            actor="admin")
        for program in (programs or (self.program,)) if certify else ():
            self.certify("pharmacy", ph.id, program=program)
        return ph.id

    def certify(self, kind: str, key: str, trigger: str = "certify", program: str | None = None) -> Scenario:
        """Fire a certification trigger in `program` (default: the scenario's program)."""
        self.call(certification.change_certification, kind, key, trigger, program or self.program,
                  actor="admin")
        return self

    def certification(self, kind: str, key: str, program: str | None = None) -> Certification | None:
        return self.read(lambda uow: uow.certifications.of(kind, key, program or self.program))

    def certified_prescriber(self) -> Scenario:
        self.prescriber_id = self.new_prescriber()
        return self

    def certified_pharmacy(self) -> Scenario:
        self.pharmacy_id = self.new_pharmacy()
        return self

    # -- the patient (R5-R8) ---------------------------------------------------------------
    def enroll_command(self, category: str, **overrides: Any) -> EnrollPatient:
        sex, age, facts = PROFILES[category]
        child = category.startswith("child")
        data: dict[str, Any] = {
            "program_id": self.program, "prescriber_id": self.prescriber_id,
            "name": f"Patient {next(_serial)}", "sex": sex,
            "birth_date": years_before(self.now.date(), age),
            "facts": {**NO_FACTS, **facts} if sex == "female" else None,
            "ppaf": {"category": category, "signed_by": "guardian" if child else "patient",
                     "guardian_name": "A Parent" if child else None}}
        if isinstance(overrides.get("facts"), dict) and (overrides.get("sex") or sex) == "female":
            overrides = {**overrides, "facts": {**NO_FACTS, **overrides["facts"]}}
        return parse(EnrollPatient, **{**data, **overrides})

    def enrolled(self, category: str = "adult_frp", **overrides: Any) -> Scenario:
        patient = self.call(patients.enroll_patient, self.enroll_command(category, **overrides),
                            actor="dr")
        self.patient_id, self.category = patient.id, category
        return self

    def pregnancy_test(self, result: str = "negative", hours_ago: float = 1, sensitivity: int = 50,
                       patient_id: str | None = None) -> PregnancyTest:
        return self.call(patients.record_pregnancy_test, parse(
            RecordPregnancyTest, patient_id=patient_id or self.patient_id,
            collected_at=self.now - timedelta(hours=hours_ago), result=result,
            sensitivity_miu_per_ml=sensitivity), actor="dr")

    def negative_test(self, hours_ago: float = 1) -> Scenario:
        self.pregnancy_test("negative", hours_ago)
        return self

    def initial_tests(self) -> Scenario:
        """R9: a negative test now, then 12 days later a second one collected an hour ago."""
        self.negative_test(hours_ago=0).advance(days=12)
        return self.negative_test(hours_ago=1)

    def survey(self) -> Scenario:
        respondent = "guardian" if self.category.startswith("child") else "patient"
        self.call(patients.record_patient_survey, parse(
            RecordPatientSurvey, patient_id=self.patient_id, respondent=respondent))
        return self

    def ready(self) -> Scenario:
        """Everything the patient side of the gate wants before a first prescription."""
        if self.category.endswith("frp"):
            self.initial_tests()
        return self.survey()

    # -- authorization, confirmation, dispense (R19-R33) -------------------------------------
    def request(self, days_supply: int = 28, survey: bool = True, attest: bool = True,
                prescriber_id: str | None = None, **extra: Any) -> Outcome:
        return self.call(prescriptions.request_authorization, parse(
            RequestAuthorization, patient_id=self.patient_id,
            prescriber_id=prescriber_id or self.prescriber_id, days_supply=days_supply,
            quantity=extra.pop("quantity", days_supply), contraception_counselling_attested=attest,
            prescriber_survey_completed=survey, **extra), actor="dr")

    def authorized(self, **kwargs: Any) -> Prescription:
        outcome = self.request(**kwargs)
        assert outcome.decision.allowed, codes(outcome.decision)
        return outcome.prescription

    def pharmacy_request(self, number: str, pharmacy_id: str | None = None) -> PharmacyRequest:
        return parse(PharmacyRequest, number=number, pharmacy_id=pharmacy_id or self.pharmacy_id)

    def confirm(self, number: str, pharmacy_id: str | None = None) -> Confirmation:
        return self.call(prescriptions.obtain_confirmation,
                         self.pharmacy_request(number, pharmacy_id), actor="pharmacist")

    def dispense(self, confirmation_number: str, pharmacy_id: str | None = None,
                 counselled: bool = True, checklist: bool = True, guide: bool = True) -> Dispense:
        return self.call(prescriptions.record_dispense, parse(
            RecordDispense, confirmation_number=confirmation_number,
            pharmacy_id=pharmacy_id or self.pharmacy_id, counselled=counselled,
            education_checklist_completed=checklist, medication_guide_given=guide),
            actor="pharmacist")

    def dispensed(self, **kwargs: Any) -> tuple[Prescription, Confirmation, Dispense]:
        """One whole cycle: authorize, confirm and dispense now."""
        rx = self.authorized(**kwargs)
        assert rx.number is not None
        confirmation = self.confirm(rx.number)
        return rx, confirmation, self.dispense(confirmation.number)
