"""A cast for API tests, set up through the use cases (not the API), at the test clock's time.

    w.doc / w.other_doc       certified prescribers          w.tokens[w.doc] is doc's bearer token
    w.pharm / w.other_pharm   certified pharmacies
    w.male                    doc's adult male patient, with an authorization w.number (rx w.rx)
    w.frp                     doc's adult FRP patient, enrolled only
    w.stranger                other_doc's adult male patient, authorization w.stranger_number
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, select

from rems.bootstrap import App
from rems.http import anonymous
from rems.services.access import tokens
from rems.services.commands import (
    EnrollPatient,
    EnrollPharmacy,
    EnrollPrescriber,
    PharmacyRequest,
    RecordPatientSurvey,
    RecordPregnancyTest,
    RequestAuthorization,
    parse,
)
from rems.services.context import Context
from rems.services.dispensing import prescriptions
from rems.services.enrollment import certification, patients
from tests.service.builders import NO_FACTS, npi_of

T = TypeVar("T")
_serial = itertools.count(1)
ADMIN = "ops-admin"
PROGRAM = "pomalidomide"  # R1, R25: where the cast is certified and its patients enrolled


class World:
    def __init__(self, app: App, clock: Callable[[], datetime]) -> None:
        self.app, self.clock = app, clock
        self.tokens: dict[str, str] = {}

    def call(self, service: Callable[..., T], *args: Any, actor: str = "setup") -> T:
        with self.app.uow() as uow:
            return service(uow, Context(actor, self.clock()), *args)

    def auth(self, actor: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[actor]}"}

    # -- the cast -------------------------------------------------------------------------
    def cast(self) -> World:
        self.doc, self.other_doc = self.prescriber(), self.prescriber()
        self.pharm, self.other_pharm = self.pharmacy(), self.pharmacy()
        self.token("admin", ADMIN)
        self.male, self.frp = self.patient(self.doc, "adult_male"), self.patient(self.doc, "adult_frp")
        self.stranger = self.patient(self.other_doc, "adult_male")
        self.rx, self.number = self.authorization(self.male, self.doc)
        self.stranger_rx, self.stranger_number = self.authorization(self.stranger, self.other_doc)
        return self

    def token(self, role: str, actor: str, days: int = 30) -> str:
        issued = self.call(tokens.issue_token, parse(tokens.IssueToken, role=role, actor_id=actor,
                                                     expires_in_days=days))
        self.tokens[actor] = issued.secret
        return issued.token.id

    def prescriber(self, certify: bool = True, program: str = PROGRAM) -> str:
        n = next(_serial)
        key = self.call(certification.enroll_prescriber, parse(
            EnrollPrescriber, name=f"Dr {n}", npi=npi_of(n, 150_000_000), attested=True,
            education_reviewed=True)).id
        if certify:
            self.call(certification.change_certification, "prescriber", key, "certify", program)
        self.token("prescriber", key)
        return key

    def pharmacy(self, program: str = PROGRAM) -> str:
        n = next(_serial)
        key = self.call(certification.enroll_pharmacy, parse(
            EnrollPharmacy, name=f"Pharmacy {n}", ncpdp_id=f"{1_500_000 + n}", representative_enrolled=True,
            staff_trained=True, records_and_audits_accepted=True)).id
        self.call(certification.change_certification, "pharmacy", key, "certify", program)
        self.token("pharmacy", key)
        return key

    def patient(self, prescriber_id: str, category: str) -> str:
        sex = "male" if category.endswith("_male") else "female"
        key = self.call(patients.enroll_patient, parse(
            EnrollPatient, program_id=PROGRAM, prescriber_id=prescriber_id,
            name=f"Patient {next(_serial)}", sex=sex,
            birth_date=(self.clock() - timedelta(days=40 * 365)).date(),
            facts=NO_FACTS if sex == "female" else None,  # R35: a female's facts, all stated
            ppaf={"category": category})).id
        self.token("patient", key)
        return key

    def frp_ready(self) -> None:
        """R9 and R20 for w.frp: negative tests 12 days and 1 hour ago, and the patient survey."""
        for ago in (timedelta(days=12), timedelta(hours=1)):
            self.call(patients.record_pregnancy_test, parse(
                RecordPregnancyTest, patient_id=self.frp, collected_at=self.clock() - ago,
                result="negative", sensitivity_miu_per_ml=50))
        self.call(patients.record_patient_survey, parse(RecordPatientSurvey, patient_id=self.frp))

    def authorization(self, patient_id: str, prescriber_id: str, survey: bool = True) -> tuple[str, str]:
        outcome = self.call(prescriptions.request_authorization, parse(
            RequestAuthorization, patient_id=patient_id, prescriber_id=prescriber_id, days_supply=28,
            quantity=28, contraception_counselling_attested=True, prescriber_survey_completed=survey))
        return outcome.prescription.id, outcome.prescription.number or ""

    def confirmation(self, number: str, pharmacy_id: str) -> str:
        return self.call(prescriptions.obtain_confirmation, parse(
            PharmacyRequest, number=number, pharmacy_id=pharmacy_id)).number

    # -- reading the database -------------------------------------------------------------
    def count(self, cls: type[Any], *where: Any) -> int:
        with self.app.uow() as uow:
            return uow.session.scalar(select(func.count()).select_from(cls).where(*where)) or 0

    def refusals(self, actor_id: str) -> list[str]:
        """The codes of the audited access refusals of one actor, oldest first; for "anonymous",
        the codes counted per minute and route (issue 15 item 8: none of them is audited)."""
        with self.app.uow() as uow:
            audited = [r["code"] for a in uow.audit_trail("api", actor_id) for r in a.reasons]
        if actor_id != "anonymous":
            return audited
        assert audited == [], "an anonymous refusal was written to the audit chain"
        return [code for (_, _, code), n in sorted(anonymous.stored(self.app).items()) for _ in range(n)]

    def state_of(self, cls: type[Any], key: str) -> str:
        with self.app.uow() as uow:
            return str(uow.get(cls, key).state)

    def certification_state(self, kind: str, key: str, program: str = PROGRAM) -> str | None:
        """R1, R25: the holder's certification state in `program` (None: never certified there)."""
        with self.app.uow() as uow:
            held = uow.certification(kind, key, program)
            return held.state if held else None

