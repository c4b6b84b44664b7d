"""Issue 14 item 6 (migrations 0014, 0021): `patient_latest` holds each patient's latest negative test
(and its sensitivity), latest survey, first and latest dispense (with its supply) and the patient's
program, kept by the database as history rows are inserted in any order, on SQLite and PostgreSQL;
the migrations fill it from the history already there. The oracle is the history itself, read back
and reduced in Python, and the program each scenario enrolled its patients in."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, insert, select

from rems.adapters import orm
from rems.adapters.database import migrate
from rems.bootstrap import App
from tests.service.builders import Scenario

T = datetime(2026, 6, 1, 9, tzinfo=UTC)  # after the scenario's own records


def _expected(engine: Engine, patient_id: str, program: str) -> dict[str, Any]:
    """From the history: max/min by instant; of rows at one instant, the one inserted last; the
    program the patient was enrolled in, once the patient has any of these events (migration 0021)."""
    with engine.connect() as c:
        tests = c.execute(select(orm.pregnancy_tests).where(orm.pregnancy_tests.c.patient_id == patient_id,
                                                            orm.pregnancy_tests.c.result == "negative")).all()
        surveys = c.execute(select(orm.patient_surveys.c.completed_at)
                            .where(orm.patient_surveys.c.patient_id == patient_id)).scalars().all()
        dispenses = c.execute(select(orm.dispenses).where(orm.dispenses.c.patient_id == patient_id)).all()
    last_test = max(tests, key=lambda t: t.collected_at, default=None)
    last_dispense = max(dispenses, key=lambda d: d.dispensed_at, default=None)
    return {"last_negative_test_at": last_test.collected_at if last_test else None,
            "last_negative_sensitivity": last_test.sensitivity_miu_per_ml if last_test else None,
            "last_survey_at": max(surveys, default=None),
            "first_dispense_at": min((d.dispensed_at for d in dispenses), default=None),
            "last_dispense_at": last_dispense.dispensed_at if last_dispense else None,
            "last_dispense_supply": last_dispense.days_supply if last_dispense else None,
            "program_id": program if tests or surveys or dispenses else None}


def _kept(engine: Engine, patient_id: str) -> dict[str, Any]:
    with engine.connect() as c:
        row = c.execute(select(orm.patient_latest).where(orm.patient_latest.c.patient_id == patient_id)).first()
    if row is None:
        return dict.fromkeys(_expected(engine, patient_id, ""))
    return {k: v for k, v in row._mapping.items() if k != "patient_id"}


def _history(engine: Engine, s: Scenario, patient_id: str, rng: random.Random, n: int) -> None:
    """`n` history rows at random instants (distinct, out of order): tests of either result and
    several sensitivities, surveys, and dispenses of several supplies (each of its own authorization
    and confirmation, written as rows: the gate is not what is tested here)."""
    for i, minutes in enumerate(rng.sample(range(1, 10_000), n)):
        moment, key = T + timedelta(minutes=minutes), f"{patient_id}_{i}"
        kind = rng.choice(["test", "survey", "dispense"])
        with engine.begin() as c:
            if kind == "test":
                c.execute(insert(orm.pregnancy_tests).values(
                    id=f"pt_{key}", patient_id=patient_id, collected_at=moment,
                    result=rng.choice(["negative", "negative", "positive"]),
                    sensitivity_miu_per_ml=rng.choice([25, 50, 100]), setting="lab",
                    home_test_accepted=False, recorded_at=moment))
            elif kind == "survey":
                c.execute(insert(orm.patient_surveys).values(id=f"ps_{key}", patient_id=patient_id,
                                                             completed_at=moment, respondent="patient"))
            else:
                dispense_row(c, s, patient_id, key, moment, rng.choice([7, 14, 28]))


def dispense_row(c: Connection, s: Scenario, patient_id: str, key: str, moment: datetime, supply: int) -> None:
    """A dispense of `supply` days at `moment`, with its own authorization and confirmation, written
    as rows (the gate is not what is tested here)."""
    c.execute(insert(orm.prescriptions).values(
        id=f"rx_{key}", program_id=s.program, patient_id=patient_id, prescriber_id=s.prescriber_id,
        category="adult_frp", days_supply=28, quantity=28, refills=0,
        contraception_counselling_attested=True, requested_at=moment, state="dispensed",
        number=f"N-{key}", version=1))
    c.execute(insert(orm.confirmations).values(
        id=f"cf_{key}", number=f"C-{key}", prescription_id=f"rx_{key}", pharmacy_id=s.pharmacy_id,
        issued_at=moment, expires_at=moment + timedelta(days=1), state="used", version=1))
    c.execute(insert(orm.dispenses).values(
        id=f"ds_{key}", prescription_id=f"rx_{key}", confirmation_id=f"cf_{key}",
        pharmacy_id=s.pharmacy_id, patient_id=patient_id, dispensed_at=moment,
        days_supply=supply, counselled=True, education_checklist_completed=True,
        medication_guide_given=True))


PROGRAMS = ("pomalidomide", "mycophenolate")  # two programs, patients of each interleaved (0021)


def test_the_latest_events_are_kept_whatever_order_they_are_recorded_in(app: App) -> None:
    rng = random.Random(14)
    scenarios = [Scenario(app, program=program).certified_prescriber().certified_pharmacy() for program in PROGRAMS]
    for n in (0, 1, 5, 25):
        for s in scenarios:
            s.enrolled("adult_frp").ready()
            _history(app.engine, s, s.patient_id, rng, n)
            assert _kept(app.engine, s.patient_id) == _expected(app.engine, s.patient_id, s.program), (n, s.program)


def test_the_service_writes_keep_it_too(app: App) -> None:
    s = Scenario(app).certified_prescriber().certified_pharmacy().enrolled("adult_frp").ready()
    s.dispensed()
    s.advance(days=3).pregnancy_test("negative", 1)
    kept = _kept(app.engine, s.patient_id)
    assert kept == _expected(app.engine, s.patient_id, "pomalidomide")
    assert kept["last_dispense_at"] is not None and kept["last_negative_test_at"] is not None


@pytest.mark.parametrize("before", ["0010", "0018"])  # before 0014 (no table); before 0021 (no program)
def test_the_migration_fills_it_from_the_history_already_there(app: App, before: str) -> None:
    rng = random.Random(6)
    patients = []
    for program in PROGRAMS:
        s = Scenario(app, program=program).certified_prescriber().certified_pharmacy()
        for n in (3, 12):
            s.enrolled("adult_frp").ready()
            _history(app.engine, s, s.patient_id, rng, n)
            patients.append((s.patient_id, program))
    migrate(app.engine, before, "downgrade")
    if before == "0018":  # history recorded under 0014's triggers, which keep no program
        late = Scenario(app, program=PROGRAMS[1]).certified_prescriber().certified_pharmacy()
        late.enrolled("adult_frp").ready()
        _history(app.engine, late, late.patient_id, rng, 4)
        patients.append((late.patient_id, PROGRAMS[1]))
    migrate(app.engine)
    for patient_id, program in patients:
        assert _kept(app.engine, patient_id) == _expected(app.engine, patient_id, program), patient_id
