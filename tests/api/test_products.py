"""A prescription naming its product (issue 17 item 7) through the API, on SQLite and PostgreSQL:
an NDC of another program is a 422 naming `ndc` with nothing written, and R24 counts the
product's units a day (THALOMID 200 mg: the label's highest daily dose, 400 mg, is 2 capsules)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rems.asgi import create_app
from rems.bootstrap import App
from rems.domain.model import Prescription
from rems.services.commands import EnrollPatient, parse
from rems.services.enrollment import patients
from tests.api.conftest import Clock
from tests.api.world import World

THALOMID_200 = "59572-220-16"  # blister pack of 28 (openFDA NDC directory), as labelled: 5-3-2
POMALYST_4 = "59572-0504-21"   # a product of the PS-Pomalidomide REMS, not of THALOMID REMS


@pytest.fixture
def store_client(app: App, clock: Clock) -> Iterator[TestClient]:
    with TestClient(create_app(app, clock)) as test_client:
        yield test_client


class Thalidomide:
    """A prescriber certified in THALOMID REMS and a way to enrol adult males there (no R9 tests)."""

    def __init__(self, app: App, clock: Clock) -> None:
        self.w = World(app, clock)
        self.doc = self.w.prescriber(program="thalidomide")
        self.enrolled = 0

    def male(self) -> str:
        self.enrolled += 1  # R34: a person is one name and birth date; each patient here is another
        return self.w.call(patients.enroll_patient, parse(
            EnrollPatient, program_id="thalidomide", prescriber_id=self.doc, name=f"Patient {self.enrolled}",
            sex="male", birth_date=(self.w.clock() - timedelta(days=50 * 365)).date(),
            ppaf={"category": "adult_male"})).id

    def prescribe(self, client: TestClient, patient: str, quantity: int, ndc: str | None) -> Any:
        body = {"patient_id": patient, "days_supply": 28, "quantity": quantity, "prescriber_survey_completed": True}
        return client.post("/v1/prescriber/prescriptions", json=body | ({"ndc": ndc} if ndc else {}),
                           headers=self.w.auth(self.doc))


@pytest.fixture
def tha(app: App, clock: Clock) -> Thalidomide:
    return Thalidomide(app, clock)


def failures(response: Any) -> list[str]:
    return [f["code"] for f in response.json()["decision"]["failures"]]


@pytest.mark.parametrize("ndc", [POMALYST_4, "00000-0000-00", "not-an-ndc", "5957222016"])
def test_an_ndc_that_is_not_a_product_of_the_patients_program_is_a_422_naming_ndc(
        store_client: TestClient, tha: Thalidomide, ndc: str) -> None:
    patient = tha.male()
    response = tha.prescribe(store_client, patient, 28, ndc)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "ndc"
    assert tha.w.count(Prescription, Prescription.patient_id == patient) == 0  # nothing half-written


def test_r24_counts_the_products_units_a_day(store_client: TestClient, tha: Thalidomide) -> None:
    """28 days x 2 capsules of 200 mg = 56; the program's own 8 a day (50 mg capsules) would allow 224."""
    fits = tha.prescribe(store_client, tha.male(), 56, THALOMID_200)
    assert fits.status_code == 201 and fits.json()["authorized"], fits.text
    assert fits.json()["ndc"] == "59572022016"
    over = tha.prescribe(store_client, tha.male(), 57, THALOMID_200)
    assert over.status_code == 201 and not over.json()["authorized"]
    assert failures(over) == ["R24_QUANTITY_EXCEEDS_DAYS"]
    without = tha.prescribe(store_client, tha.male(), 57, None)  # R24 unchanged without a product
    assert without.status_code == 201 and without.json()["authorized"] and without.json()["ndc"] is None
