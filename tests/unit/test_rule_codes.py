"""Every rule code of the catalogue (rems/domain/catalogue.py) is expected by at least one test
(issue 13): a new code fails here, listed, until a test asserts it."""

from __future__ import annotations

from pathlib import Path

import pytest

from rems.domain import catalogue, gate
from tests.unit.builders import decide, failing, male_case, prescription, with_rx

ROOT = Path(__file__).resolve().parents[2]


def test_every_rule_code_is_expected_by_some_test():
    tests = "\n".join(p.read_text("utf-8") for p in (ROOT / "tests").rglob("test_*.py"))
    missing = sorted(c for c in catalogue.CODES if c not in tests)
    assert missing == []


def test_r26_dispensing_an_authorization_that_was_never_confirmed_is_refused():
    records = with_rx(male_case("dispense"), state="authorized")
    assert "R26_NO_CONFIRMATION" in failing("dispense", records)


@pytest.mark.parametrize("change", [{"patient_id": "pt-other"}, {"prescriber_id": "dr-other"}])
def test_r23_an_authorization_of_another_patient_or_prescriber_is_refused(change):
    records = with_rx(male_case("confirm"), **change)
    assert "R23_AUTHORIZATION_MISMATCH" in failing("confirm", records)


def test_r23_a_state_the_machine_ends_in_names_itself():
    records = with_rx(male_case("confirm"), state="voided")
    assert "R23_AUTHORIZATION_VOIDED" in failing("confirm", records)
    assert prescription("adult_male", "confirm").state == "authorized"
    assert decide("confirm", male_case("confirm")).allowed and gate.STAGES[0] == "readiness"
