"""R30, R34: the person's safety history follows them across enrollments; a readmission decision
forgives the history before it; nothing collected before a positive test or the readmission
qualifies. Expectations from REMS_RULES.md."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rems.domain.model import PregnancyReport
from tests.unit.builders import (
    EARLY,
    RECENT,
    T0,
    days,
    failing,
    frp_case,
    hours,
    male_case,
    patient,
    pregnancy_test,
)


def _report(at, patient_id="pt-other", source="patient"):
    return PregnancyReport(id=f"rep-{patient_id}", patient_id=patient_id, reported_at=at, source=source)


@pytest.mark.parametrize("stage", ["authorize", "confirm", "dispense"])
def test_r34_a_pregnancy_reported_in_another_enrollment_blocks_this_one(stage):
    records = male_case(stage, pregnancy_reports=(_report(T0 - days(3)),))
    assert failing(stage, records) == {"R34_PERSON_PREGNANCY_STOP"}


def test_r30_a_report_on_this_enrollment_blocks_even_if_its_state_says_active():
    records = male_case(pregnancy_reports=(_report(T0 - days(3), "pt-1"),))
    assert records.patient.state == "active"
    assert failing("authorize", records) == {"R30_PREGNANCY_REPORTED"}


def test_r34_a_readmission_decision_after_the_report_lifts_the_block():
    records = male_case(pregnancy_reports=(_report(T0 - days(30)),), readmitted_at=T0 - days(10))
    assert failing("authorize", records) == set()


def test_r34_a_report_after_the_readmission_blocks_again():
    records = male_case(pregnancy_reports=(_report(T0 - days(3)),), readmitted_at=T0 - days(10))
    assert failing("authorize", records) == {"R34_PERSON_PREGNANCY_STOP"}


def test_r34_a_positive_test_of_another_enrollment_blocks():
    positive = replace(pregnancy_test(T0 - days(40), result="positive"), patient_id="pt-other")
    records = frp_case(tests=(positive, pregnancy_test(EARLY), pregnancy_test(RECENT)))
    assert failing("authorize", records) == {"R30_POSITIVE_TEST"}


def test_r34_after_readmission_only_tests_collected_since_qualify():
    positive = pregnancy_test(T0 - days(40), result="positive")
    records = frp_case(tests=(positive, pregnancy_test(EARLY), pregnancy_test(RECENT)),
                       readmitted_at=EARLY + hours(1))  # the 12-day test predates the decision
    assert failing("authorize", records) == {"R9_EARLY_TEST_MISSING"}
    assert failing("authorize", replace(records, readmitted_at=EARLY - hours(1))) == set()


def test_r34_a_positive_test_recorded_after_the_readmission_still_blocks():
    positive = replace(pregnancy_test(T0 - days(40), result="positive"), recorded_at=T0 - days(5))
    records = frp_case(tests=(positive, pregnancy_test(EARLY), pregnancy_test(RECENT)),
                       readmitted_at=T0 - days(20))
    assert "R30_POSITIVE_TEST" in failing("authorize", records)


def test_r34_a_negative_test_collected_before_the_latest_positive_never_qualifies():
    positive = pregnancy_test(RECENT - hours(1), result="positive")
    records = frp_case(tests=(pregnancy_test(EARLY), positive, pregnancy_test(RECENT)),
                       readmitted_at=T0 - hours(2))  # even a readmission does not revive EARLY
    assert failing("authorize", records) == {"R9_EARLY_TEST_MISSING", "R9_RECENT_TEST_MISSING"}


def test_r30_the_state_code_and_the_person_code_are_both_reported_for_a_stopped_patient():
    records = male_case(patient=patient("adult_male", state="pregnancy_stop"),
                        pregnancy_reports=(_report(T0 - days(1), "pt-1"), _report(T0 - days(1))))
    assert failing("authorize", records) == {"R30_PREGNANCY_REPORTED", "R34_PERSON_PREGNANCY_STOP"}
