"""Every refused gate at a pharmacy, every refused authorization and every access refused by the
API is an audit entry in the chain: actor, time, request id, the failing rules, ids only (issue 6)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from rems.adapters import orm
from rems.bootstrap import App
from rems.domain.errors import Refused
from rems.domain.model import AuditEntry, Confirmation, Dispense, Patient, Prescription
from rems.services.commands import RecordDispense, parse
from rems.services.context import Context
from rems.services.dispensing import prescriptions
from tests.audit.conftest import verify
from tests.service.builders import Scenario, codes


def _gate(s: Scenario, rx_id: str) -> list[AuditEntry]:
    return s.audit("gate", rx_id)


def test_a_refused_dispense_is_audited_after_the_rollback_r29(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male").ready()
    rx = s.authorized()
    assert rx.number is not None
    confirmation = s.confirm(rx.number)
    ctx = Context("pharmacy:" + s.pharmacy_id, s.now, request_id="req-dispense-1")
    with pytest.raises(Refused) as refused, s.app.uow() as uow:
        prescriptions.record_dispense(uow, ctx, parse(
            RecordDispense, confirmation_number=confirmation.number, pharmacy_id=s.pharmacy_id,
            counselled=True, education_checklist_completed=False, medication_guide_given=True))
    entry, = _gate(s, rx.id)
    assert (entry.trigger, entry.actor, entry.request_id, entry.at) == (
        "dispense_refused", ctx.actor, "req-dispense-1", s.now)
    assert [r["code"] for r in entry.reasons] == codes(refused.value) == ["R29_COUNSELLING_INCOMPLETE"]
    assert entry.refs == {"pharmacy": s.pharmacy_id}
    assert s.rows(Dispense) == [] and s.fetch(Confirmation, confirmation.id).state == "issued"
    assert verify(s.app).ok


def test_a_refused_confirmation_is_audited_with_every_failing_rule_r25(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male").ready()
    rx = s.authorized()
    assert rx.number is not None
    s.certify("pharmacy", s.pharmacy_id, "suspend")
    with pytest.raises(Refused) as refused:
        s.confirm(rx.number)
    entry, = _gate(s, rx.id)
    assert entry.trigger == "confirm_refused" and entry.actor == "pharmacist"
    assert [r["code"] for r in entry.reasons] == codes(refused.value)
    assert "R25_PHARMACY_SUSPENDED" in codes(refused.value)
    assert s.rows(Confirmation) == []  # the refused attempt itself left nothing
    assert verify(s.app).ok


def _surveyed(s: Scenario, rx_id: str) -> Prescription:
    outcome = s.call(prescriptions.record_prescriber_survey, rx_id, s.prescriber_id, actor="dr")
    assert outcome.decision.allowed, codes(outcome.decision)
    return outcome.prescription


def test_a_refused_check_and_a_refused_authorization_are_audited(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male").ready()
    pending = s.request(survey=False)
    assert not pending.decision.allowed
    entry, = _gate(s, pending.prescription.id)
    assert (entry.trigger, [r["code"] for r in entry.reasons]) == (
        "authorize_refused", ["R19_PRESCRIBER_SURVEY_MISSING"])
    rx = _surveyed(s, pending.prescription.id)  # R36: the same prescription, not a second one
    assert rx.number is not None
    s.certify("pharmacy", s.pharmacy_id, "suspend")
    decision = s.call(prescriptions.check, s.pharmacy_request(rx.number), actor="pharmacist")
    refused_before, check = _gate(s, rx.id)  # the same prescription's earlier refusal, then the check
    assert refused_before.trigger == "authorize_refused"
    assert check.trigger == "check_refused" and [r["code"] for r in check.reasons] == codes(decision)
    assert s.call(prescriptions.check, s.pharmacy_request(rx.number)) is not None
    assert verify(s.app).ok


def test_an_allowed_check_writes_nothing(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male").ready()
    rx = s.authorized()
    assert rx.number is not None
    before = s.count(AuditEntry)
    assert s.call(prescriptions.check, s.pharmacy_request(rx.number)).allowed
    assert s.count(AuditEntry) == before


def test_no_patient_name_birth_date_or_guardian_lands_in_the_audit_log(app: App) -> None:
    s = Scenario(app).certified_prescriber().certified_pharmacy()
    s.enrolled("child_frp", name="Zelda Quixotic-Marlowe",
               ppaf={"category": "child_frp", "signed_by": "guardian", "guardian_name": "Oswin Quixotic"})
    birth = s.fetch(Patient, s.patient_id).birth_date
    s.ready()
    rx = _surveyed(s, s.request(survey=False).prescription.id)  # R36: the same prescription
    assert rx.number is not None
    confirmation = s.confirm(rx.number)
    with pytest.raises(Refused):
        s.dispense(confirmation.number, counselled=False)
    with s.app.engine.connect() as connection:
        text = repr(list(connection.execute(select(orm.audit_log))))
    for secret in ("Zelda", "Quixotic", "Marlowe", "Oswin", birth.isoformat(), f"{birth:%Y%m%d}",
                   f"{birth:%m/%d/%Y}"):
        assert secret not in text
