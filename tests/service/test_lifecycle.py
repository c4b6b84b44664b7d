"""Issue 17 items 4-5 through the use cases, on SQLite and PostgreSQL: closed to new enrollment,
enforcement discretion, eliminated, and a declared relaxation with two administrators. Oracles:
PROGRAMS.md "Program lifecycle" and "Degraded operation"."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from rems.bootstrap import App
from rems.domain.errors import InvalidInput, Refused
from rems.domain.lifecycle import WaiverUse
from rems.services.dispensing import prescriptions
from rems.services.programs import program_status, relaxations
from rems.services.views import status
from tests.service.builders import Scenario, codes
from workflows.relaxations import RelaxationSpec

ADMIN, OTHER_ADMIN = "admin:ann", "admin:bob"
TODAY = date(2026, 3, 2)  # T0 (09:00 UTC) is 2 March in New York
SURVEYS_DOWN = RelaxationSpec("survey_portal_down", "the survey portal is down", frozenset({"R19", "R20"}),
                              max_days_supply=4, max_hours=24)


@pytest.fixture
def s(app: App) -> Scenario:
    app.programs["pomalidomide"] = dataclasses.replace(app.programs["pomalidomide"],
                                                       relaxations=(SURVEYS_DOWN,))
    return Scenario(app).certified_prescriber().certified_pharmacy()


def set_status(s: Scenario, state: str, day: date = TODAY) -> None:
    s.call(program_status.record_change, "pomalidomide", state, day, "FDA action", actor=ADMIN)


def refusal(call) -> list[str]:  # type: ignore[no-untyped-def]
    with pytest.raises(Refused) as caught:
        call()
    return codes(caught.value)


def uses(s: Scenario) -> list[WaiverUse]:
    return s.read(lambda uow: list(uow.session.scalars(select(WaiverUse).order_by(WaiverUse.at))))


def without_surveys(s: Scenario, days_supply: int = 4):  # type: ignore[no-untyped-def]
    """An adult male without the patient survey (R20), a request without the prescriber's (R19)."""
    s.enrolled("adult_male")
    return s.request(days_supply=days_supply, survey=False)


def test_the_unrelaxed_request_is_refused_for_the_surveys(s: Scenario) -> None:
    outcome = without_surveys(s)
    assert not outcome.decision.allowed
    assert set(codes(outcome.decision)) <= {"R19_PRESCRIBER_SURVEY_MISSING", "R20_PATIENT_SURVEY_DUE"}
    assert "R19_PRESCRIBER_SURVEY_MISSING" in codes(outcome.decision)


# -- closed to new enrollment ------------------------------------------------------------------
def test_closed_refuses_a_new_person_but_an_enrolled_patient_continues(s: Scenario) -> None:
    s.enrolled("adult_male").survey()
    set_status(s, "closed_to_new_enrollment")
    assert refusal(lambda: s.enrolled("adult_male")) == ["LIFECYCLE_CLOSED_TO_NEW_ENROLLMENT"]
    assert s.authorized().number  # the existing patient is authorized as before
    [entry] = s.audit("program", "pomalidomide")  # actor, reason and date in the audit trail
    assert (entry.actor, entry.from_state, entry.to_state) == (ADMIN, "active", "closed")
    assert entry.refs and (entry.refs["state"], entry.refs["effective_from"], entry.refs["reason"]) == (
        "closed_to_new_enrollment", "2026-03-02", "FDA action")


def test_a_change_cannot_go_backward_or_into_the_past(s: Scenario) -> None:
    set_status(s, "enforcement_discretion")
    assert refusal(lambda: set_status(s, "closed_to_new_enrollment", TODAY + timedelta(days=3))) == [
        "LIFECYCLE_NOT_FORWARD"]
    with pytest.raises(InvalidInput) as caught:
        set_status(s, "eliminated", TODAY - timedelta(days=1))
    assert caught.value.field == "effective_from"
    assert [a.trigger for a in s.audit("program", "pomalidomide")] == ["set_status"]


def test_a_change_recorded_for_a_later_date_waits_for_it(s: Scenario) -> None:
    set_status(s, "closed_to_new_enrollment", TODAY + timedelta(days=1))
    s.enrolled("adult_male")  # still active today
    s.advance(days=1)
    assert refusal(lambda: s.enrolled("adult_male")) == ["LIFECYCLE_CLOSED_TO_NEW_ENROLLMENT"]


# -- enforcement discretion ----------------------------------------------------------------------
def test_discretion_allows_what_it_would_refuse_and_records_each_allowance(s: Scenario) -> None:
    s.enrolled("adult_male")  # discretion comes after closed: enrolled before it
    set_status(s, "enforcement_discretion")
    outcome = s.request(days_supply=28, survey=False)
    decision = outcome.decision
    assert decision.allowed and outcome.prescription.number
    assert "R19_PRESCRIBER_SURVEY_MISSING" in decision.as_dict()["would_refuse"]
    assert [w.name for w in decision.waivers] == ["enforcement_discretion"]
    [use] = uses(s)
    assert (use.stage, use.waiver, use.prescription_id) == ("authorize", "enforcement_discretion",
                                                            outcome.prescription.id)
    assert set(use.codes) == set(codes(decision))
    [entry] = [a for a in s.audit("gate", outcome.prescription.id) if a.trigger == "authorize_waived"]
    assert {r["code"] for r in entry.reasons} == set(codes(decision))
    assert entry.refs and entry.refs["waiver"] == "enforcement_discretion"
    listed = s.read(lambda uow: [u.id for u in program_status.uses(uow, s.ctx(), "pomalidomide",
                                                                    "enforcement_discretion")])
    assert listed == [use.id]
    assert s.read(lambda uow: program_status.uses(uow, s.ctx(), "pomalidomide", "survey_portal_down")) == []


# -- eliminated -------------------------------------------------------------------------------------
def test_eliminated_refuses_every_gated_write_and_keeps_reads(s: Scenario) -> None:
    s.enrolled("adult_male").survey()
    rx = s.authorized()
    assert rx.number
    set_status(s, "eliminated")
    code = ["LIFECYCLE_PROGRAM_ELIMINATED"]
    assert refusal(lambda: s.enrolled("adult_male")) == code
    assert refusal(lambda: s.request()) == code
    assert refusal(lambda: s.confirm(rx.number or "")) == code
    shown = s.call(status.patient_status, s.patient_id)  # reads are kept
    assert shown["patient_id"] == s.patient_id
    assert s.call(program_status.describe, "pomalidomide")["state"] == "eliminated"
    assert s.trail("prescription", rx.id)[-1] == ("authorize", "requested", "authorized")


# -- declared relaxations ------------------------------------------------------------------------------
def activated(s: Scenario, name: str = "survey_portal_down") -> str:
    return s.call(relaxations.activate, "pomalidomide", name, "portal outage", actor=ADMIN).id


def test_an_undeclared_relaxation_cannot_be_activated(s: Scenario) -> None:
    assert refusal(lambda: activated(s, "anything_goes")) == ["RELAXATION_NOT_DECLARED"]


def test_the_activating_administrator_cannot_approve(s: Scenario) -> None:
    key = activated(s)
    assert refusal(lambda: s.call(relaxations.approve, "pomalidomide", key, actor=ADMIN)) == [
        "RELAXATION_SAME_ADMINISTRATOR"]
    outcome = without_surveys(s)  # activated, not approved: nothing is relaxed
    assert not outcome.decision.allowed and uses(s) == []


def test_an_approved_relaxation_allows_within_its_cap_and_each_use_is_listed(s: Scenario) -> None:
    key = activated(s)
    s.call(relaxations.approve, "pomalidomide", key, actor=OTHER_ADMIN)
    outcome = without_surveys(s, days_supply=4)
    assert outcome.decision.allowed
    assert [w.name for w in outcome.decision.waivers] == ["survey_portal_down"]
    [use] = uses(s)
    assert (use.waiver, use.activation_id, use.stage) == ("survey_portal_down", key, "authorize")
    entry = [a for a in s.audit("gate", outcome.prescription.id) if a.trigger == "authorize_waived"]
    assert len(entry) == 1 and entry[0].refs and entry[0].refs["activation"] == key
    assert [(a.trigger, a.actor) for a in s.audit("relaxation", key)] == [("activate", ADMIN),
                                                                         ("approve", OTHER_ADMIN)]


def test_a_supply_over_the_cap_is_still_refused(s: Scenario) -> None:
    s.call(relaxations.approve, "pomalidomide", activated(s), actor=OTHER_ADMIN)
    outcome = without_surveys(s, days_supply=5)
    assert not outcome.decision.allowed and outcome.decision.waivers == () and uses(s) == []


def test_an_expired_or_revoked_relaxation_allows_nothing(s: Scenario) -> None:
    key = activated(s)
    s.call(relaxations.approve, "pomalidomide", key, actor=OTHER_ADMIN)
    s.advance(hours=24)  # max_hours = 24: the time box ends now
    assert not without_surveys(s).decision.allowed
    second = activated(s)
    s.call(relaxations.approve, "pomalidomide", second, actor=OTHER_ADMIN)
    s.call(relaxations.revoke, "pomalidomide", second, actor=OTHER_ADMIN)
    assert not without_surveys(s).decision.allowed
    assert uses(s) == []


def test_an_activation_cannot_be_approved_after_its_time_box(s: Scenario) -> None:
    key = activated(s)
    s.advance(hours=24)
    assert refusal(lambda: s.call(relaxations.approve, "pomalidomide", key, actor=OTHER_ADMIN)) == [
        "RELAXATION_EXPIRED"]


def test_discretion_at_the_pharmacy_records_the_check_the_confirmation_and_the_dispense(s: Scenario) -> None:
    s.enrolled("adult_male").survey()
    rx = s.authorized()
    assert rx.number
    s.certify("pharmacy", s.pharmacy_id, "suspend")  # R25: the pharmacy's gate fails from now on
    set_status(s, "enforcement_discretion")
    checked = s.call(prescriptions.check, s.pharmacy_request(rx.number))  # a writing unit of work (CLI)
    assert checked.allowed and checked.as_dict()["would_refuse"] == ["R25_PHARMACY_SUSPENDED"]
    confirmation = s.advance(minutes=1).confirm(rx.number)
    s.advance(minutes=1).dispense(confirmation.number)
    assert [(u.stage, u.codes) for u in uses(s)] == [
        (stage, ["R25_PHARMACY_SUSPENDED"]) for stage in ("check", "confirm", "dispense")]
    waived = [a.trigger for a in s.audit("gate", rx.id) if a.trigger.endswith("_waived")]
    assert waived == ["check_waived", "confirm_waived", "dispense_waived"]


def test_an_activation_is_approved_once_revoked_once_and_never_longer_than_declared(s: Scenario) -> None:
    key = activated(s)
    s.call(relaxations.approve, "pomalidomide", key, actor=OTHER_ADMIN)
    assert refusal(lambda: s.call(relaxations.approve, "pomalidomide", key, actor="admin:cy")) == [
        "RELAXATION_NOT_PENDING"]
    s.call(relaxations.revoke, "pomalidomide", key, actor=ADMIN)
    assert refusal(lambda: s.call(relaxations.revoke, "pomalidomide", key, actor=ADMIN)) == [
        "RELAXATION_REVOKED"]
    with pytest.raises(InvalidInput) as caught:
        s.call(relaxations.activate, "pomalidomide", SURVEYS_DOWN.name, "outage", 25, actor=ADMIN)
    assert caught.value.field == "hours"  # max_hours = 24
    set_status(s, "eliminated")
    assert refusal(lambda: activated(s)) == ["LIFECYCLE_PROGRAM_ELIMINATED"]
