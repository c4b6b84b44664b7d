"""Authorization, confirmation and dispense on the fake unit of work: allowed, and refused with
every failing rule (REMS_RULES.md "What every state is satisfied means at the pharmacy")."""

from __future__ import annotations

import pytest

from rems.domain.errors import NotFound, Refused
from rems.domain.model import Confirmation, Dispense, Prescription
from rems.services.commands import PharmacyRequest, parse
from rems.services.dispensing import prescriptions
from tests.fakes import FakeStore
from tests.service.builders import codes
from tests.unit.services.conftest import FakeScenario


def rules(failures: Refused | object) -> set[str]:
    return {f.rule for f in getattr(failures, "failures", [])}


@pytest.fixture
def ready(s: FakeScenario) -> FakeScenario:
    """A certified prescriber and pharmacy, an adult FRP with both initial tests (R9) and a survey."""
    s.certified_prescriber().certified_pharmacy().enrolled("adult_frp").ready()
    return s


def test_a_whole_cycle_is_allowed(ready: FakeScenario, store: FakeStore) -> None:
    """R19, R26, R29: authorized, confirmed, dispensed; the authorization is used once."""
    rx, confirmation, dispense = ready.dispensed()
    assert rx.number is not None and confirmation.number.startswith("C-")
    assert store.rows[Prescription][rx.id].state == "dispensed"
    assert store.rows[Confirmation][confirmation.id].state == "used"
    assert [d.id for d in store.all(Dispense)] == [dispense.id]
    assert ("dispense", "confirmed", "dispensed") in ready.trail("prescription", rx.id)


def test_no_prescriber_survey_keeps_the_prescription_pending(ready: FakeScenario) -> None:
    """R19: no authorization number before the prescriber survey."""
    outcome = ready.request(survey=False)
    assert rules(outcome.decision) == {"R19"}
    assert outcome.prescription.state == "requested" and outcome.prescription.number is None


def test_a_supply_over_28_days_is_refused(ready: FakeScenario) -> None:
    """R24: at most a 28-day supply."""
    outcome = ready.request(days_supply=29)
    assert "R24" in rules(outcome.decision) and not outcome.decision.allowed


def test_an_uncertified_pharmacy_gets_no_confirmation_and_the_refusal_is_audited(ready: FakeScenario) -> None:
    """R25, R26: the pharmacy must be certified in the program; issue 6: the refusal is kept."""
    rx = ready.authorized()
    assert rx.number is not None
    other = ready.new_pharmacy(certify=False)
    with pytest.raises(Refused) as refused:
        ready.confirm(rx.number, pharmacy_id=other)
    assert rules(refused.value) == {"R25"}
    assert [a.trigger for a in ready.audit("gate", rx.id)] == ["confirm_refused"]


def test_a_second_dispense_on_one_authorization_is_refused(ready: FakeScenario) -> None:
    """R33: one authorization, one dispense."""
    _, confirmation, _ = ready.dispensed()
    with pytest.raises(Refused) as refused:
        ready.dispense(confirmation.number)
    assert "R33" in rules(refused.value)


def test_a_dispense_without_counselling_is_refused(ready: FakeScenario, store: FakeStore) -> None:
    """R29: counselling, the education checklist and the Medication Guide at every dispense."""
    rx = ready.authorized()
    assert rx.number is not None
    confirmation = ready.confirm(rx.number)
    with pytest.raises(Refused) as refused:
        ready.dispense(confirmation.number, counselled=False, guide=False)
    assert rules(refused.value) == {"R29"}
    assert store.all(Dispense) == [] and store.rows[Prescription][rx.id].state == "confirmed"


def test_a_confirmation_is_valid_24_hours(ready: FakeScenario) -> None:
    """R27: a dispense after the confirmation's 24 hours is refused."""
    rx = ready.authorized()
    assert rx.number is not None
    confirmation = ready.confirm(rx.number)
    ready.advance(hours=25)
    with pytest.raises(Refused) as refused:
        ready.dispense(confirmation.number)
    assert "R27" in rules(refused.value)


def test_a_suspended_prescriber_gets_no_authorization(ready: FakeScenario) -> None:
    """R1, R3: a suspended prescriber gets no new authorization."""
    ready.certify("prescriber", ready.prescriber_id, "suspend")
    outcome = ready.request()
    assert rules(outcome.decision) == {"R3"}, codes(outcome.decision)
    assert outcome.prescription.number is None


def test_a_check_answers_what_a_confirmation_would(ready: FakeScenario) -> None:
    """R26: the pharmacy's check is allowed while every gate holds (and writes nothing)."""
    rx = ready.authorized()
    assert rx.number is not None
    decision = ready.call(prescriptions.check, ready.pharmacy_request(rx.number))
    assert decision.allowed
    assert ready.trail("gate", rx.id) == []


def test_a_check_names_no_one_elses_authorization(ready: FakeScenario) -> None:
    """R26: a number checked for another patient, an unknown number and an unknown pharmacy are all
    "not found": a pharmacy never learns whose number it holds (rems/services/dispensing/records.py)."""
    rx = ready.authorized()
    assert rx.number is not None
    mismatched = parse(PharmacyRequest, number=rx.number, pharmacy_id=ready.pharmacy_id, patient_id="someone-else")
    with pytest.raises(NotFound):
        ready.call(prescriptions.check, mismatched)
    with pytest.raises(NotFound):
        ready.call(prescriptions.check, ready.pharmacy_request("RX-NO-SUCH-NUMBER"))
    with pytest.raises(NotFound):
        ready.call(prescriptions.check, ready.pharmacy_request(rx.number, pharmacy_id="no-such-pharmacy"))
    assert ready.call(prescriptions.check, ready.pharmacy_request(rx.number)).allowed
