"""Events that stop or hold therapy: R30 pregnancy, R12 missed period, R3 and R25 suspensions."""

from __future__ import annotations

import pytest

from rems.domain.errors import InvalidInput, Refused
from rems.domain.model import Confirmation, Patient, PregnancyReport, Prescription
from rems.services.dispensing import prescriptions
from rems.services.enrollment import patients
from rems.services.views import status
from tests.service.builders import Scenario, codes


def _confirmed(s: Scenario) -> tuple[Prescription, Confirmation]:
    """One authorization confirmed at the pharmacy (R36: the patient's only open one)."""
    confirmed = s.authorized()
    assert confirmed.number is not None
    return confirmed, s.confirm(confirmed.number)


@pytest.mark.parametrize("was", ["requested", "authorized"])
def test_a_positive_test_voids_a_requested_or_authorized_prescription_r30(scenario: Scenario, was: str) -> None:
    """R36 allows one open authorization: each open state is voided (was: three at once)."""
    s = scenario.enrolled("adult_frp").ready()
    rx = s.request(survey=was == "authorized").prescription
    assert rx.state == was
    s.advance(hours=3)
    s.pregnancy_test("positive", hours_ago=1)
    assert s.fetch(Prescription, rx.id).state == "voided"
    assert s.trail("prescription", rx.id)[-1] == ("void", was, "voided")


def test_a_positive_test_stops_therapy_voids_everything_open_and_opens_a_report_r30(
        scenario: Scenario) -> None:
    s = scenario.enrolled("adult_frp").ready()
    confirmed, confirmation = _confirmed(s)

    s.advance(hours=3)
    s.pregnancy_test("positive", hours_ago=1)

    patient = s.fetch(Patient, s.patient_id)
    assert (patient.state, patient.test_phase) == ("pregnancy_stop", "positive")
    assert s.fetch(Prescription, confirmed.id).state == "voided"
    assert s.trail("prescription", confirmed.id)[-1] == ("void", "confirmed", "voided")
    assert s.fetch(Confirmation, confirmation.id).state == "voided"
    assert s.audit("confirmation", confirmation.id)[-1].trigger == "void"
    report, = s.rows(PregnancyReport, PregnancyReport.patient_id == s.patient_id)
    assert (report.source, report.status, report.reported_at) == ("positive_test", "open", s.now)
    assert s.trail("pregnancy_report", report.id) == [("open", None, "open")]

    with pytest.raises(Refused):
        s.dispense(confirmation.number)
    later = s.advance(days=2).negative_test().request()  # a later negative test changes nothing
    assert {"R30_PREGNANCY_REPORTED", "R30_POSITIVE_TEST"} <= set(codes(later.decision))


def test_a_male_patients_partner_pregnancy_stops_his_therapy_r30(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male").ready()
    confirmed, confirmation = _confirmed(s)
    s.call(patients.report_pregnancy, s.patient_id, "partner", actor="dr")

    patient = s.fetch(Patient, s.patient_id)
    assert (patient.state, patient.test_phase) == ("pregnancy_stop", "not_required")
    assert s.fetch(Prescription, confirmed.id).state == "voided"
    assert s.fetch(Confirmation, confirmation.id).state == "voided"
    report, = s.rows(PregnancyReport, PregnancyReport.patient_id == s.patient_id)
    assert report.source == "partner"
    assert "R30_PREGNANCY_REPORTED" in codes(s.request().decision)


def test_a_partner_pregnancy_is_reported_only_for_a_male_patient(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_frp")
    with pytest.raises(InvalidInput) as invalid:
        s.call(patients.report_pregnancy, s.patient_id, "partner")
    assert invalid.value.field == "source"
    assert s.fetch(Patient, s.patient_id).state == "active"
    assert s.count(PregnancyReport) == 0


def test_a_missed_period_holds_an_frp_patient_until_a_negative_test_after_it_r12(
        scenario: Scenario) -> None:
    s = scenario.enrolled("adult_frp").ready()
    rx = s.authorized()
    assert rx.number is not None
    s.advance(hours=2)
    s.call(patients.report_missed_period, s.patient_id, actor="dr")
    assert s.fetch(Patient, s.patient_id).state == "on_hold"

    with pytest.raises(Refused) as refused:
        s.confirm(rx.number)
    assert codes(refused.value) == ["R12_PATIENT_ON_HOLD"]
    # R36: rx is still open, so no second request; the patient-level gate says why
    gates = s.call(status.patient_status, s.patient_id)["gates"]
    assert "R12_PATIENT_ON_HOLD" in {g["code"] for g in gates if not g["met"]}

    s.advance(hours=1).negative_test(hours_ago=2)  # collected before the hold began: no release
    assert s.fetch(Patient, s.patient_id).state == "on_hold"
    s.negative_test(hours_ago=0.5)
    assert s.fetch(Patient, s.patient_id).state == "active"
    assert s.trail("patient", s.patient_id)[-2:] == [("hold", "active", "on_hold"),
                                                     ("release_hold", "on_hold", "active")]
    confirmation = s.confirm(rx.number)
    s.dispense(confirmation.number)
    assert s.fetch(Prescription, rx.id).state == "dispensed"


def test_a_hold_on_an_interrupted_patient_releases_back_to_interrupted_not_active_r12(
        scenario: Scenario) -> None:
    s = scenario.enrolled("adult_frp").ready()
    s.call(patients.change_state, s.patient_id, "interrupt", actor="dr")
    s.advance(hours=1)
    s.call(patients.report_missed_period, s.patient_id, actor="dr")
    assert s.fetch(Patient, s.patient_id).state == "interrupted_on_hold"
    pending = s.request()
    assert "R12_PATIENT_ON_HOLD" in codes(pending.decision)

    s.advance(hours=1).negative_test(hours_ago=0.5)
    # The negative test lifts the hold only: the prescriber's interruption still stands.
    assert s.fetch(Patient, s.patient_id).state == "interrupted"
    assert s.trail("patient", s.patient_id)[-2:] == [
        ("hold", "interrupted", "interrupted_on_hold"),
        ("release_hold", "interrupted_on_hold", "interrupted")]
    retried = s.call(prescriptions.authorize, pending.prescription.id, s.prescriber_id)  # R36: the same one
    assert "R5_THERAPY_INTERRUPTED" in codes(retried.decision)


def test_resuming_a_held_interrupted_patient_leaves_the_hold_in_place_r12(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_frp").ready()
    s.call(patients.change_state, s.patient_id, "interrupt", actor="dr")
    s.call(patients.report_missed_period, s.patient_id, actor="dr")
    s.call(patients.change_state, s.patient_id, "resume", actor="dr")
    assert s.fetch(Patient, s.patient_id).state == "on_hold"
    assert "R12_PATIENT_ON_HOLD" in codes(s.request().decision)


def test_a_missed_period_does_not_apply_to_a_male_patient_r12(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male")
    with pytest.raises(InvalidInput):
        s.call(patients.report_missed_period, s.patient_id)
    assert s.fetch(Patient, s.patient_id).state == "active"


def test_suspending_a_prescriber_voids_his_authorizations_until_reinstated_r3(
        scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male").ready()
    authorized, confirmation = _confirmed(s)
    s.certify("prescriber", s.prescriber_id, "suspend")

    assert s.fetch(Prescription, authorized.id).state == "voided"
    assert s.fetch(Confirmation, confirmation.id).state == "voided"
    assert s.audit("prescription", authorized.id)[-1].actor == "admin"
    refused = s.request()
    assert codes(refused.decision) == ["R3_PRESCRIBER_SUSPENDED"]
    assert authorized.number is not None
    with pytest.raises(Refused):
        s.confirm(authorized.number)

    s.certify("prescriber", s.prescriber_id, "reinstate")
    assert s.fetch(Prescription, refused.prescription.id).state == "requested"  # not revived
    retried = s.call(prescriptions.authorize, refused.prescription.id, s.prescriber_id)  # R36: that one
    assert retried.prescription.state == "authorized"


def test_suspending_a_pharmacy_voids_its_confirmations_and_releases_the_authorization_r25(
        scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male").ready()
    rx = s.authorized()
    assert rx.number is not None
    held = s.confirm(rx.number)
    s.certify("pharmacy", s.pharmacy_id, "suspend")

    assert s.fetch(Confirmation, held.id).state == "voided"
    assert s.fetch(Prescription, rx.id).state == "authorized"
    assert s.trail("prescription", rx.id)[-1] == ("release", "confirmed", "authorized")
    with pytest.raises(Refused) as refused:
        s.confirm(rx.number)
    assert codes(refused.value) == ["R25_PHARMACY_SUSPENDED"]
    with pytest.raises(Refused):
        s.dispense(held.number)

    other = s.new_pharmacy()
    s.dispense(s.confirm(rx.number, other).number, other)
    assert s.fetch(Prescription, rx.id).state == "dispensed"
