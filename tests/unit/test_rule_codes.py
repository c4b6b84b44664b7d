"""Every rule code the domain can produce is expected by at least one test (issue 13): a new code
fails here, listed, until a test asserts it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rems.domain import gate
from tests.unit.builders import decide, failing, male_case, prescription, with_rx

ROOT = Path(__file__).resolve().parents[2]
MET_ONLY = {"R5_PATIENT_ACTIVE"}  # the code of the patient-state requirement when it holds
CODE = re.compile(r'"(R\d+_[A-Z0-9_]+)"')


def _domain_codes() -> set[str]:
    return {c for path in (ROOT / "rems" / "domain").glob("*.py") for c in CODE.findall(path.read_text("utf-8"))}


def test_every_domain_rule_code_is_expected_by_some_test():
    tests = "\n".join(p.read_text("utf-8") for p in (ROOT / "tests").rglob("test_*.py"))
    missing = sorted(c for c in _domain_codes() - MET_ONLY if c not in tests)
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
