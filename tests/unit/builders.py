"""Small factories for domain objects and two fully satisfied gate cases (adult FRP, adult male).

Every timeline is built from T0, the moment the prescription is authorized; nothing reads the clock.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from rems.domain import gate
from rems.domain.gate import Records
from rems.domain.model import (
    Certification,
    Confirmation,
    Counselling,
    Dispense,
    Patient,
    PatientSurvey,
    Pharmacy,
    Ppaf,
    PregnancyTest,
    Prescriber,
    Prescription,
)
from rems.domain.requirements import Decision
from workflows.program import Parameters, Program, load_programs

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
SECOND = timedelta(seconds=1)
WHEN = {"readiness": T0, "authorize": T0, "confirm": T0 + timedelta(hours=1), "dispense": T0 + timedelta(hours=2)}
RX_STATE = {"authorize": "requested", "confirm": "authorized", "dispense": "confirmed"}
EARLY = T0 - timedelta(days=12)  # R9: first test, inside 10-14 days
RECENT = T0 - timedelta(hours=12)  # R9: second test, inside 24 h
SIGNED = T0 - timedelta(days=20)  # the PPAF, before both tests

PROFILES: dict[str, dict[str, Any]] = {  # one patient profile per risk category (R5a)
    "adult_frp": {"sex": "female", "birth_date": date(1990, 5, 10), "menarche": True},
    "adult_fnrp": {"sex": "female", "birth_date": date(1960, 5, 10), "menarche": True,
                   "hysterectomy": True},
    "adult_male": {"sex": "male", "birth_date": date(1970, 5, 10)},
    "child_frp": {"sex": "female", "birth_date": date(2012, 5, 10), "menarche": True},
    "child_fnrp": {"sex": "female", "birth_date": date(2016, 5, 10)},
    "child_male": {"sex": "male", "birth_date": date(2012, 5, 10)},
}


@cache
def program() -> Program:
    return load_programs()["pomalidomide"]


def params(at: datetime = T0) -> Parameters:
    return program().at(at)


def days(n: float) -> timedelta:
    return timedelta(days=n)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def prescriber(**changes: Any) -> Prescriber:
    """Enrolled only: certification is per program (`certification`), never on the prescriber."""
    return replace(Prescriber(id="dr-1", name="Dr Ada", npi="1234567893", attested=True,
                              education_reviewed=True, enrolled_at=T0 - days(400)), **changes)


def pharmacy(**changes: Any) -> Pharmacy:
    return replace(Pharmacy(id="ph-1", name="Corner Pharmacy", ncpdp_id="1234567",
                            representative_enrolled=True, staff_trained=True,
                            records_and_audits_accepted=True, enrolled_at=T0 - days(200)), **changes)


def certification(kind: str, program_id: str = "pomalidomide", **changes: Any) -> Certification:
    """R1, R25: dr-1's or ph-1's certification in `program_id`, certified (a year / 100 days ago)."""
    holder, age = ("dr-1", days(365)) if kind == "prescriber" else ("ph-1", days(100))
    return replace(Certification(id=f"crt-{kind}-{program_id}", program_id=program_id, holder_kind=kind,
                                 holder_id=holder, state="certified", certified_at=T0 - age), **changes)


def patient(category: str = "adult_frp", **changes: Any) -> Patient:
    return replace(Patient(id="pt-1", program_id="pomalidomide", prescriber_id="dr-1", name="Pat",
                           enrolled_at=T0 - days(20), state="active", **PROFILES[category]), **changes)


def ppaf(category: str, signed_at: datetime = SIGNED, signed_by: str | None = None) -> Ppaf:
    signer = signed_by or ("guardian" if category.startswith("child") else "patient")
    return Ppaf(id=f"ppaf-{category}-{signed_at:%Y%m%d}", patient_id="pt-1", prescriber_id="dr-1",
                category=category, signed_at=signed_at, signed_by=signer)


def pregnancy_test(collected_at: datetime, result: str = "negative", sensitivity: int = 50,
                   setting: str = "lab", accepted: bool = False) -> PregnancyTest:
    return PregnancyTest(id=f"test-{collected_at:%Y%m%d%H%M%S}", patient_id="pt-1",
                         collected_at=collected_at, result=result, sensitivity_miu_per_ml=sensitivity,
                         setting=setting, home_test_accepted=accepted, recorded_at=collected_at)


def survey(completed_at: datetime) -> PatientSurvey:
    return PatientSurvey(id=f"survey-{completed_at:%Y%m%d%H%M%S}", patient_id="pt-1",
                         completed_at=completed_at, respondent="patient")


def prescription(category: str, stage: str = "authorize", **changes: Any) -> Prescription:
    """A prescription in the state `stage` expects; authorized at T0 unless still requested."""
    authorized = stage != "authorize"
    rx = Prescription(id="rx-1", program_id="pomalidomide", patient_id="pt-1", prescriber_id="dr-1",
                      category=category, days_supply=28, quantity=28, refills=0,
                      contraception_counselling_attested=True, requested_at=T0 - hours(1),
                      state=RX_STATE[stage], number="POM-0001" if authorized else None,
                      authorized_at=T0 if authorized else None,
                      expires_at=T0 + days(30) if authorized else None)
    return replace(rx, **changes)


def confirmation(issued_at: datetime = WHEN["confirm"], **changes: Any) -> Confirmation:
    return replace(Confirmation(id="conf-1", number="C-0001", prescription_id="rx-1", pharmacy_id="ph-1",
                                issued_at=issued_at, expires_at=issued_at + hours(24)), **changes)


def counselling(**changes: bool) -> Counselling:
    return replace(Counselling(True, True, True), **changes)


def dispense(dispensed_at: datetime, prescription_id: str = "rx-0", days_supply: int = 28) -> Dispense:
    return Dispense(id=f"disp-{dispensed_at:%Y%m%d%H%M%S}", prescription_id=prescription_id,
                    confirmation_id="conf-0", pharmacy_id="ph-1", patient_id="pt-1",
                    dispensed_at=dispensed_at, days_supply=days_supply, counselled=True,
                    education_checklist_completed=True, medication_guide_given=True)


def case(category: str, stage: str, **changes: Any) -> Records:
    """Records that satisfy every gate at `stage` for a first prescription in `category`."""
    frp = category.endswith("frp") and not category.endswith("fnrp")
    rx = (prescription(category, stage, expires_at=RECENT + days(7) if frp else T0 + days(30))
          if stage in RX_STATE else None)
    records = Records(patient=patient(category), prescriber=prescriber(),
                      prescription=rx, ppafs=(ppaf(category),),
                      tests=(pregnancy_test(EARLY), pregnancy_test(RECENT)) if frp else (),
                      patient_surveys=(survey(T0 - days(1)),) if params().survey[category].before_first
                      else (),
                      prescriber_survey_done=True, pharmacy=pharmacy(), confirmation=confirmation(),
                      counselling=counselling(), prescriber_certification=certification("prescriber"),
                      pharmacy_certification=certification("pharmacy"))
    return replace(records, **changes)


def frp_case(stage: str = "authorize", **changes: Any) -> Records:
    return case("adult_frp", stage, **changes)


def male_case(stage: str = "authorize", **changes: Any) -> Records:
    return case("adult_male", stage, **changes)


def with_rx(records: Records, **changes: Any) -> Records:
    assert records.prescription is not None
    return replace(records, prescription=replace(records.prescription, **changes))


def decide(stage: str, records: Records, now: datetime | None = None) -> Decision:
    return gate.evaluate(stage, records, program(), WHEN[stage] if now is None else now)


def failing(stage: str, records: Records, now: datetime | None = None) -> set[str]:
    """The codes of every failing requirement; empty exactly when the gate allows."""
    decision = decide(stage, records, now)
    codes = {f.code for f in decision.failures}
    assert decision.allowed == (not codes)
    return codes
