"""Reproductive facts are one-way and stated in full (R35); patients' time zones (T1)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from rems.domain.errors import InvalidInput
from rems.domain.model import AuditEntry, Patient, Ppaf
from rems.services.commands import CorrectFacts, RecordPregnancyTest, RenewPpaf, parse
from rems.services.enrollment import patients, persons
from rems.services.views import status
from tests.service.builders import NO_FACTS, Scenario

# At 2026-03-02 10:30 UTC it is already 3 March in Kiritimati (UTC+14) and still 1 March in
# Pago Pago (UTC-11).
EAST, WEST = "Pacific/Kiritimati", "Pacific/Pago_Pago"


def _renew(s: Scenario, category: str, facts: Any, signed_by: str = "guardian") -> Patient:
    return s.call(patients.renew_ppaf, parse(
        RenewPpaf, patient_id=s.patient_id, facts=facts,
        ppaf={"category": category, "signed_by": signed_by,
              "guardian_name": "A Parent" if signed_by == "guardian" else None}), actor="dr")


def _category(s: Scenario) -> str:
    found: str = s.call(status.patient_status, s.patient_id)["category"]
    return found


@pytest.mark.parametrize("omitted", ["menarche", "hysterectomy", "bilateral_oophorectomy",
                                     "postmenopausal_since"])
def test_a_renewal_omitting_a_fact_is_refused_naming_it_r35(scenario: Scenario, omitted: str) -> None:
    s = scenario.enrolled("child_frp")
    facts = {k: v for k, v in {**NO_FACTS, "menarche": True}.items() if k != omitted}
    with pytest.raises(InvalidInput) as invalid:
        _renew(s, "child_frp", facts)
    assert invalid.value.field == f"facts.{omitted}"
    with pytest.raises(InvalidInput) as none_given:
        _renew(s, "child_fnrp", None)
    assert none_given.value.field == "facts"
    assert s.count(Ppaf) == 1


def test_a_girl_with_recorded_menarche_stays_frp_whatever_a_renewal_says_r35(scenario: Scenario) -> None:
    """The issue's case: a renewal without menarche moved a girl to FNRP and she got no test."""
    s = scenario.enrolled("child_frp")
    with pytest.raises(InvalidInput) as invalid:
        _renew(s, "child_fnrp", {**NO_FACTS, "menarche": False})
    assert invalid.value.field == "facts.menarche"
    patient = s.fetch(Patient, s.patient_id)
    assert (patient.menarche, patient.test_phase) == (True, "initial")
    assert _category(s) == "child_frp"
    assert s.count(Ppaf) == 1


@pytest.mark.parametrize("fact", ["hysterectomy", "bilateral_oophorectomy"])
def test_recorded_surgery_cannot_be_unset_by_a_renewal_r35(scenario: Scenario, fact: str) -> None:
    s = scenario.enrolled("adult_fnrp", facts={"hysterectomy": False, fact: True})
    with pytest.raises(InvalidInput) as invalid:
        _renew(s, "adult_frp", NO_FACTS, signed_by="patient")
    assert invalid.value.field == f"facts.{fact}"
    assert getattr(s.fetch(Patient, s.patient_id), fact) is True


def test_only_the_administrators_correction_with_a_reason_unsets_a_fact_r35(scenario: Scenario) -> None:
    s = scenario.enrolled("child_frp")
    reason = "menarche was entered for the wrong child"
    corrected = s.call(persons.correct_facts, parse(
        CorrectFacts, patient_id=s.patient_id, facts=NO_FACTS, reason=reason), actor="admin")
    assert corrected.menarche is False
    entry = s.audit("patient", s.patient_id)[-1]
    assert (entry.actor, entry.trigger, entry.refs) == ("admin", "correct_facts", {"facts": "menarche"})
    assert [(r["code"], r["message"]) for r in entry.reasons] == [("R35_FACTS_CORRECTED", reason)]
    assert _category(s) == "child_fnrp"  # R8: the PPAF (child_frp) no longer matches
    assert _renew(s, "child_fnrp", NO_FACTS).test_phase == "not_required"

    with pytest.raises(InvalidInput) as no_reason:
        parse(CorrectFacts, patient_id=s.patient_id, facts=NO_FACTS, reason="")
    assert no_reason.value.field == "reason"
    with pytest.raises(InvalidInput) as unchanged:
        s.call(persons.correct_facts, parse(CorrectFacts, patient_id=s.patient_id, facts=NO_FACTS,
                                            reason="again"), actor="admin")
    assert unchanged.value.field == "facts"


def _enroll_menopausal(s: Scenario, since: date, **extra: Any) -> Patient:
    return s.call(patients.enroll_patient, s.enroll_command(
        "adult_fnrp", facts={"hysterectomy": True, "postmenopausal_since": since}, **extra))


def test_implausible_postmenopausal_dates_are_refused_naming_the_field_r35(scenario: Scenario) -> None:
    s = scenario
    birth = date(1980, 6, 15)
    for since in (birth - timedelta(days=1), date(1990, 6, 14), s.now.date() + timedelta(days=1)):
        with pytest.raises(InvalidInput) as invalid:  # before birth, before age 10, in the future
            _enroll_menopausal(s, since, birth_date=birth)
        assert invalid.value.field == "facts.postmenopausal_since"
    assert s.count(Patient) == 0
    assert _enroll_menopausal(s, date(1990, 6, 15), birth_date=birth).postmenopausal_since \
        == date(1990, 6, 15)  # her 10th birthday: plausible
    s.enrolled("adult_fnrp")
    with pytest.raises(InvalidInput) as invalid:  # the same checks on a renewal
        _renew(s, "adult_fnrp", {**NO_FACTS, "hysterectomy": True, "postmenopausal_since": date(1900, 1, 1)},
               signed_by="patient")
    assert invalid.value.field == "facts.postmenopausal_since"


def test_today_is_the_patients_local_date_for_plausibility_t1_r35(scenario: Scenario) -> None:
    s = scenario.advance(hours=1.5)
    local_tomorrow_west = s.now.date()  # 2 March is still tomorrow in Pago Pago
    with pytest.raises(InvalidInput) as invalid:
        _enroll_menopausal(s, local_tomorrow_west, time_zone=WEST)
    assert invalid.value.field == "facts.postmenopausal_since"
    with pytest.raises(InvalidInput) as unborn:
        s.enrolled("adult_male", birth_date=local_tomorrow_west, time_zone=WEST)
    assert unborn.value.field == "birth_date"
    east = _enroll_menopausal(s, s.now.date() + timedelta(days=1), time_zone=EAST)  # 3 March there
    assert east.time_zone == EAST


def test_a_female_enrolled_without_her_facts_is_refused_a_male_needs_none_r35(scenario: Scenario) -> None:
    s = scenario
    with pytest.raises(InvalidInput) as invalid:
        s.enrolled("adult_frp", facts=None)
    assert invalid.value.field == "facts"
    assert s.count(Patient) == 0
    s.enrolled("adult_male", facts=None)
    with pytest.raises(InvalidInput) as male_facts:
        s.enrolled("adult_male", facts={**NO_FACTS, "menarche": True})
    assert male_facts.value.field == "facts"


def test_a_patient_has_the_programs_zone_or_a_valid_one_given_t1(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male")
    assert s.fetch(Patient, s.patient_id).time_zone == "America/New_York"  # pomalidomide's file
    for bad in ("Mars/Olympus_Mons", "../../etc/passwd", "america/new_york"):
        with pytest.raises(InvalidInput) as invalid:
            s.enrolled("adult_male", time_zone=bad)
        assert invalid.value.field == "time_zone"
    s.enrolled("adult_male", time_zone="America/Chicago")
    assert s.fetch(Patient, s.patient_id).time_zone == "America/Chicago"


def test_the_prescriber_changes_the_zone_with_an_audit_row_t1(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male")
    changed = s.call(patients.change_time_zone, s.patient_id, "Europe/Paris", s.prescriber_id, actor="dr")
    assert changed.time_zone == "Europe/Paris"
    entry = s.audit("patient", s.patient_id)[-1]
    assert (entry.actor, entry.trigger, entry.refs) == (
        "dr", "change_time_zone", {"from_zone": "America/New_York", "to_zone": "Europe/Paris"})
    with pytest.raises(InvalidInput) as invalid:
        s.call(patients.change_time_zone, s.patient_id, "Paris", s.prescriber_id)
    assert invalid.value.field == "time_zone"
    assert s.fetch(Patient, s.patient_id).time_zone == "Europe/Paris"
    assert s.count(AuditEntry, AuditEntry.trigger == "change_time_zone") == 1


def test_a_test_collected_at_the_calendars_edge_is_refused_by_name_not_a_crash_t1(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_frp", time_zone=WEST)
    with pytest.raises(InvalidInput) as invalid:  # year 1 in UTC has no earlier local date
        s.call(patients.record_pregnancy_test, parse(
            RecordPregnancyTest, patient_id=s.patient_id, collected_at=datetime(1, 1, 1, tzinfo=UTC),
            result="negative", sensitivity_miu_per_ml=50))
    assert invalid.value.field == "collected_at"
