"""A program version before it takes effect (issue 17 item 6): who would be refused or freed.

Expected answers from the candidate files the tests write: a version that adds pregnancy tests
for males refuses an authorized male patient on its date; one that retires them frees an FRP
patient without tests; today's answers are unchanged and nothing is written."""

from __future__ import annotations

from datetime import date

import pytest

from rems.domain.errors import InvalidInput
from rems.domain.model import AuditEntry
from rems.services.programs.program_diff import diff_program
from tests.service.builders import Scenario
from workflows.program import PROGRAM_DIR, parse_program

BASE = (PROGRAM_DIR / "pomalidomide.toml").read_text(encoding="utf-8")
MALE_TESTS = ('\n[[requirements]]\nkind = "lab_test"\nid = "male-tests"\nanalyte = "hCG"\nrule = "R9"\n'
              'applies_to = ["adult_male"]\nfda_code = "C128523"\neffective_from = 2027-01-01\n')

# The program file's forms line: a copy under another id drops it (the forms' ids carry the program's).
FORMS_LINE = next(line for line in (PROGRAM_DIR / "pomalidomide.toml").read_text(encoding="utf-8")
                  .splitlines(keepends=True) if line.startswith("questionnaires ="))


def test_a_new_requirement_refuses_an_authorized_patient_on_its_date(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male").ready()
    rx = s.authorized()
    before = s.count(AuditEntry)
    changes = s.call(diff_program, parse_program(BASE + MALE_TESTS, "pomalidomide.toml"))
    mine = {c.subject: c for c in changes if c.patient_id == s.patient_id}
    assert mine["readiness"].outcome == "refused on the date"
    assert "R9_EARLY_TEST_MISSING" in mine["readiness"].newly_failing
    assert mine[rx.number].stage == "confirm" and mine[rx.number].outcome == "refused on the date"
    assert s.count(AuditEntry) == before  # a read: nothing written


def test_a_retired_requirement_frees_a_patient_and_a_date_can_be_named(scenario: Scenario) -> None:
    s = scenario.enrolled("adult_frp")
    s.survey()
    retired = BASE.replace('analyte = "hCG"', 'analyte = "hCG"\nuntil = 2027-06-01', 1)
    changes = s.call(diff_program, parse_program(retired, "pomalidomide.toml"), date(2027, 6, 1))
    readiness = next(c for c in changes if c.patient_id == s.patient_id)
    assert readiness.outcome == "freed on the date"
    assert {"R9_EARLY_TEST_MISSING", "R9_RECENT_TEST_MISSING"} <= set(readiness.no_longer_failing)
    assert "R9_EARLY_TEST_MISSING" in readiness.removed


def test_an_unchanged_patient_is_unchanged_and_a_candidate_that_changes_nothing_needs_a_date(
        scenario: Scenario) -> None:
    s = scenario.enrolled("adult_male").ready()
    changes = s.call(diff_program, parse_program(BASE + MALE_TESTS.replace("adult_male", "child_male"),
                                                 "pomalidomide.toml"))
    assert {c.outcome for c in changes if c.patient_id == s.patient_id} == {"unchanged"}
    with pytest.raises(InvalidInput) as caught:
        s.call(diff_program, parse_program(BASE, "pomalidomide.toml"))
    assert caught.value.field == "on"
    with pytest.raises(InvalidInput):
        s.call(diff_program, parse_program(BASE.replace('id = "pomalidomide"', 'id = "nowhere"', 1)
                                   .replace(FORMS_LINE, ""), "x.toml"))
