"""A seeded population for the report tests, built through the use cases, and the figures the
test expects, counted here as each event is made to happen (not read back from the reports)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from rems.domain.errors import Refused
from rems.domain.model import Prescription
from rems.services.commands import RecordPatientSurvey, parse
from rems.services.dispensing import prescriptions
from rems.services.enrollment import patients
from rems.services.reports import Period
from tests.service.builders import Scenario, codes

PERIOD = Period.of(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))


@dataclass
class Expected:
    dispenses: Counter[str] = field(default_factory=Counter)  # by category
    issued: Counter[str] = field(default_factory=Counter)  # by prescriber
    refusals: Counter[str] = field(default_factory=Counter)  # by stage
    rules: Counter[str] = field(default_factory=Counter)
    refusals_by_prescriber: Counter[str] = field(default_factory=Counter)
    refusals_by_pharmacy: Counter[str] = field(default_factory=Counter)
    dispenses_by_pharmacy: Counter[str] = field(default_factory=Counter)
    late_surveys: Counter[str] = field(default_factory=Counter)
    lapses: Counter[str] = field(default_factory=Counter)
    expired_unused: int = 0
    overdue: list[str] = field(default_factory=list)
    pregnancies: Counter[str] = field(default_factory=Counter)
    ids: dict[str, str] = field(default_factory=dict)


class Seeder:
    def __init__(self, s: Scenario) -> None:
        self.s, self.e = s, Expected()

    def patient(self, name: str, prescriber: str, category: str) -> str:
        self.s.prescriber_id = prescriber
        self.s.enrolled(category).ready()
        self.e.ids[name] = self.s.patient_id
        return self.s.patient_id

    def authorized(self, prescriber: str) -> str:
        rx = self.s.authorized()
        self.e.issued[prescriber] += 1
        assert rx.number is not None
        return rx.number

    def dispensed(self, prescriber: str, pharmacy: str) -> None:
        number = self.authorized(prescriber)
        self.s.dispense(self.s.confirm(number, pharmacy).number, pharmacy)
        self.e.dispenses[self.s.category] += 1
        self.e.dispenses_by_pharmacy[pharmacy] += 1

    def refused(self, stage: str, prescriber: str, pharmacy: str | None, error: Refused) -> None:
        self.e.refusals[stage] += 1
        self.e.rules.update({f.rule for f in error.failures})
        self.e.refusals_by_prescriber[prescriber] += 1
        if pharmacy:
            self.e.refusals_by_pharmacy[pharmacy] += 1

    def survey(self, patient_id: str) -> None:
        self.s.call(patients.record_patient_survey, parse(RecordPatientSurvey, patient_id=patient_id))


def seed(s: Scenario) -> Expected:
    """Three prescribers, three pharmacies, eight patients over six weeks (see each step)."""
    z = Seeder(s)
    e = z.e
    a, p1 = s.prescriber_id, s.pharmacy_id
    b, c = s.new_prescriber(), s.new_prescriber()
    p2, p3 = s.new_pharmacy(), s.new_pharmacy()
    e.ids.update(a=a, b=b, c=c, p1=p1, p2=p2, p3=p3)

    z.patient("m1", a, "adult_male")
    z.dispensed(a, p1)

    z.patient("m3", a, "adult_male")  # refused at the counter without the checklist (R29)
    number = z.authorized(a)
    confirmation = s.confirm(number, p1)
    with pytest.raises(Refused) as r29:
        s.dispense(confirmation.number, p1, checklist=False)
    z.refused("dispense", a, p1, r29.value)
    s.dispense(confirmation.number, p1)
    e.dispenses["adult_male"] += 1
    e.dispenses_by_pharmacy[p1] += 1

    z.patient("m2", b, "adult_male")  # refused without the prescriber survey (R19), then issued
    outcome = s.request(survey=False)
    assert codes(outcome.decision) == ["R19_PRESCRIBER_SURVEY_MISSING"]
    z.refused("authorize", b, None, Refused("authorize", outcome.decision.failures))
    rx = s.call(prescriptions.record_prescriber_survey, outcome.prescription.id, b).prescription
    e.issued[b] += 1
    assert rx.number is not None
    s.dispense(s.confirm(rx.number, p2).number, p2)
    e.dispenses["adult_male"] += 1
    e.dispenses_by_pharmacy[p2] += 1

    z.patient("m4", b, "adult_male")  # issued, never dispensed: expires unused (R23)
    unused = z.authorized(b)
    e.expired_unused += 1
    s.certify("pharmacy", p3, "suspend")  # and a suspended pharmacy is refused it (R25)
    e.lapses[p3] += 1
    with pytest.raises(Refused) as r25:
        s.confirm(unused, p3)
    z.refused("confirm", b, p3, r25.value)

    z.patient("m5", b, "adult_male")  # issued, then voided: not "expired unused"
    z.authorized(b)
    latest = s.rows(Prescription, Prescription.patient_id == e.ids["m5"])[-1]
    s.call(prescriptions.void_prescription, latest.id)

    s.certify("prescriber", c, "suspend")
    e.lapses[c] += 1

    for name in ("frp1", "frp2", "frp3"):  # each: two initial tests 12 days apart, then dispensed
        z.patient(name, a, "adult_frp")
        z.dispensed(a, p1)
    s.call(patients.report_pregnancy, e.ids["frp3"], "patient")  # R30
    e.pregnancies["patient"] += 1

    s.advance(days=9)  # now T0 + 45 days: inside the period
    assert PERIOD.start < s.now < PERIOD.end
    for name in ("m2", "m3", "frp2"):  # m1 and frp1 get no survey: late (R20)
        z.survey(e.ids[name])
    e.late_surveys[a] += 2
    s.pregnancy_test("negative", hours_ago=1, patient_id=e.ids["frp2"])  # frp1 gets none: overdue (R11)
    e.overdue.append(e.ids["frp1"])
    return e

