"""The services that use derived dates (issue 13): R36 at request, the category stamped at issue
(R8/R22), and one schedule for the gate and the status page (R20, R28)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rems.domain.errors import Refused
from rems.domain.model import Prescription
from rems.services.dispensing import prescriptions
from rems.services.views import status
from tests.service.builders import Scenario, codes, years_before
from tests.service.test_enrollment import _renew


def test_r36_a_second_request_is_refused_while_one_is_open_and_says_what_to_do(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male").ready()
    first = s.request(survey=False)
    assert first.prescription.state == "requested"
    with pytest.raises(Refused) as refused:
        s.request()
    assert codes(refused.value) == ["R36_OPEN_AUTHORIZATION"]
    assert "void" in refused.value.failures[0].remedy
    assert s.count(Prescription, Prescription.patient_id == s.patient_id) == 1  # nothing half-written
    s.call(prescriptions.void_prescription, first.prescription.id, s.prescriber_id, actor="dr")
    assert s.request().decision.allowed


def test_r36_an_authorization_past_its_expiry_is_no_longer_open(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male").ready()
    rx = s.authorized()
    assert rx.expires_at is not None
    s.now = rx.expires_at + timedelta(seconds=1)  # not swept yet: still "authorized" in the table
    s.survey()
    assert s.fetch(Prescription, rx.id).state == "authorized"
    assert s.request().decision.allowed


def test_r36_a_dispensed_authorization_is_not_open(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male").ready()
    s.dispensed()
    s.advance(days=21).survey()
    assert s.request().decision.allowed


def test_r8_r22_a_request_before_the_birthday_authorized_after_it_carries_the_adult_category(
        scenario: Scenario) -> None:
    """Was: the request's child category stayed on the authorization and every pharmacy refused
    it (R22). Now the category in force at issue is stamped."""
    birthday = scenario.now + timedelta(days=10)
    s = scenario.certified_pharmacy().enrolled("child_male", birth_date=years_before(birthday.date(), 18))
    s.now = birthday - timedelta(days=1)
    pending = s.request(survey=False)
    assert pending.prescription.category == "child_male"
    s.now = birthday + timedelta(hours=12)  # midday on the birthday in New York
    _renew(s, "adult_male")
    authorized = s.call(prescriptions.record_prescriber_survey, pending.prescription.id, s.prescriber_id, actor="dr")
    assert authorized.decision.allowed
    assert authorized.prescription.category == "adult_male"
    assert authorized.prescription.number is not None
    confirmation = s.confirm(authorized.prescription.number)
    s.dispense(confirmation.number)


def test_r20_the_status_page_shows_the_survey_the_gate_asks_for(scenario: Scenario) -> None:
    """Issue 13: the status page showed nothing due for a man the gate refused for R20."""
    s = scenario.enrolled("adult_male").certified_pharmacy()
    s.dispensed()  # his first prescription needs no survey; the next one does
    s.advance(days=22)
    page = s.call(status.patient_status, s.patient_id)
    failing = {g["code"]: g for g in page["gates"] if not g["met"]}
    assert "R20_PATIENT_SURVEY_DUE" in failing and failing["R20_PATIENT_SURVEY_DUE"]["earliest"]
    surveys = [d for d in page["due_next"] if d["rule"] == "R20"]
    assert len(surveys) == 1 and surveys[0]["overdue"]  # needed since the window opened (day 21)
    refused = s.request()
    assert codes(refused.decision) == ["R20_PATIENT_SURVEY_DUE"]
    s.survey()
    page = s.call(status.patient_status, s.patient_id)
    assert "R20_PATIENT_SURVEY_DUE" not in {g["code"] for g in page["gates"] if not g["met"]}


def test_r28_the_status_page_gives_the_gates_refill_day(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male").certified_pharmacy()
    start = s.now
    s.dispensed()
    opens = [d for d in s.call(status.patient_status, s.patient_id)["due_next"] if d["rule"] == "R28"]
    assert [d["due"] for d in opens] == [(start + timedelta(days=21)).isoformat()]
