"""Interop fixtures: the API on the `app` fixture (SQLite and PostgreSQL), a fixed clock, a seeded cast.

    p.w                       the API test cast (tests/api/world.py): doc, other_doc, pharm, male with
                              authorization p.w.number, frp (no pregnancy test), stranger (other_doc's)
    p.ready / p.ready_number  doc's FRP patient with both R9 tests and the survey, authorized
    p.lapsed_pharm            an enrolled pharmacy that is not certified (R25), with a token
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from rems.asgi import create_app
from rems.bootstrap import App
from rems.domain.model import Pharmacy, Prescriber
from rems.services.commands import EnrollPharmacy, RecordPatientSurvey, RecordPregnancyTest, parse
from rems.services.enrollment import certification, patients
from tests.api.conftest import Clock
from tests.api.world import World

BASE = "https://rems.example.org:8443"


class Population:
    def __init__(self, app: App, clock: Clock) -> None:
        self.clock = clock
        self.w = World(app, clock).cast()
        self.ready = self.w.patient(self.w.doc, "adult_frp")
        self.negative_tests(self.ready)
        self.w.call(patients.record_patient_survey, parse(RecordPatientSurvey, patient_id=self.ready))
        self.ready_rx, self.ready_number = self.w.authorization(self.ready, self.w.doc)
        self.lapsed_pharm = self.w.call(certification.enroll_pharmacy, parse(
            EnrollPharmacy, name="Uncertified Pharmacy", ncpdp_id="1599999", representative_enrolled=True,
            staff_trained=True, records_and_audits_accepted=True)).id
        self.w.token("pharmacy", self.lapsed_pharm)

    def negative_tests(self, patient_id: str) -> None:
        for ago in (timedelta(days=12), timedelta(hours=1)):
            self.w.call(patients.record_pregnancy_test, parse(
                RecordPregnancyTest, patient_id=patient_id, collected_at=self.clock() - ago,
                result="negative", sensitivity_miu_per_ml=50))

    def positive_test(self, patient_id: str) -> None:
        self.w.call(patients.record_pregnancy_test, parse(
            RecordPregnancyTest, patient_id=patient_id, collected_at=self.clock() - timedelta(hours=2),
            result="positive", sensitivity_miu_per_ml=25))

    def auth(self, actor: str) -> dict[str, str]:
        return self.w.auth(actor)

    def ncpdp_of(self, pharmacy_id: str) -> str:
        with self.w.app.uow() as uow:
            return uow.get(Pharmacy, pharmacy_id).ncpdp_id

    def npi_of(self, prescriber_id: str) -> str:
        with self.w.app.uow() as uow:
            return uow.get(Prescriber, prescriber_id).npi


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(app: App, clock: Clock) -> Iterator[TestClient]:
    with TestClient(create_app(app, clock)) as test_client:
        yield test_client


@pytest.fixture
def linked(app: App, clock: Clock) -> Iterator[TestClient]:
    """The API with a public base URL of its own: card links are absolute on it."""
    settings = app.settings.model_copy(update={"public_base_url": BASE})
    with TestClient(create_app(dataclasses.replace(app, settings=settings), clock)) as test_client:
        yield test_client


@pytest.fixture
def p(app: App, clock: Clock) -> Population:
    return Population(app, clock)
