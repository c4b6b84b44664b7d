"""Issue 17 items 4-5: lifecycle and relaxation blocks of a program file, the state at an instant
on the program's calendar (T3), and waivers on a gate decision. Oracles: PROGRAMS.md
("Program lifecycle", "Degraded operation") and REMS_RULES.md T3, not the code under test."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest

from rems.domain.lifecycle import ProgramStatusChange, activation_end, status_at, waive
from rems.domain.requirements import Decision, Waiver, need
from workflows.program import PROGRAM_DIR, ProgramError, parse_program
from workflows.relaxations import RelaxationSpec

BASE = (PROGRAM_DIR / "pomalidomide.toml").read_text(encoding="utf-8")  # zone America/New_York
CLOSED = '[[lifecycle]]\nstate = "closed_to_new_enrollment"\neffective_from = 2026-03-10\nreason = "FDA"\n'
DISCRETION = '[[lifecycle]]\nstate = "enforcement_discretion"\neffective_from = 2026-04-01\nreason = "FDA"\n'
RELAX = ('[[relaxations]]\nname = "portal_down"\ndescription = "the REMS portal is down"\n'
         'waives = ["R26_CONFIRMATION_INVALID", "R19"]\nmax_days_supply = 4\nmax_hours = 72\n')


def program(*blocks: str):  # type: ignore[no-untyped-def]
    return parse_program(BASE + "\n" + "\n".join(blocks), "pomalidomide.toml")


def refused_field(*blocks: str) -> str:
    with pytest.raises(ProgramError) as caught:
        program(*blocks)
    return caught.value.field


# -- the program file ------------------------------------------------------------------------
def test_shipped_program_is_active_with_nothing_declared() -> None:
    p = program()
    assert p.lifecycle == () and p.relaxations == ()
    assert status_at(p, (), datetime(2030, 1, 1, tzinfo=UTC)).state == "active"


def test_lifecycle_blocks_load_in_order() -> None:
    p = program(CLOSED, DISCRETION)
    assert [(e.state, e.effective_from) for e in p.lifecycle] == [
        ("closed_to_new_enrollment", date(2026, 3, 10)), ("enforcement_discretion", date(2026, 4, 1))]


@pytest.mark.parametrize(("block", "field"), [
    ('[[lifecycle]]\nstate = "paused"\neffective_from = 2026-03-10\nreason = "x"\n', "lifecycle[0].state"),
    ('[[lifecycle]]\nstate = "eliminated"\neffective_from = "2026-03-10"\nreason = "x"\n',
     "lifecycle[0].effective_from"),
    ('[[lifecycle]]\nstate = "eliminated"\neffective_from = 2026-03-10\nreason = " "\n', "lifecycle[0].reason"),
    ('[[lifecycle]]\nstate = "eliminated"\neffective_from = 2026-03-10\nreason = "x"\nwhy = 1\n',
     "lifecycle[0].why"),
])
def test_a_bad_lifecycle_block_is_refused_naming_the_field(block: str, field: str) -> None:
    assert refused_field(block) == field


def test_the_lifecycle_only_moves_forward() -> None:
    backward = '[[lifecycle]]\nstate = "closed_to_new_enrollment"\neffective_from = 2026-05-01\nreason = "x"\n'
    assert refused_field(DISCRETION, backward) == "lifecycle[1].state"
    assert refused_field(DISCRETION, CLOSED) == "lifecycle[1].effective_from"  # earlier date


@pytest.mark.parametrize(("old", "new", "field"), [
    ("max_days_supply = 4", "max_days_supply = 0", "relaxations[0].max_days_supply"),
    ("max_hours = 72", "max_hours = true", "relaxations[0].max_hours"),
    ('waives = ["R26_CONFIRMATION_INVALID", "R19"]', "waives = []", "relaxations[0].waives"),
    ('name = "portal_down"', 'name = "enforcement_discretion"', "relaxations[0].name"),
    ("max_hours = 72\n", "", "relaxations[0].max_hours"),
    ("max_hours = 72\n", "max_hours = 72\nalso = 1\n", "relaxations[0].also"),
])
def test_a_bad_relaxation_is_refused_naming_the_field(old: str, new: str, field: str) -> None:
    assert refused_field(RELAX.replace(old, new)) == field


def test_relaxation_names_are_unique() -> None:
    assert refused_field(RELAX, RELAX) == "relaxations[1].name"


# -- T3: the state at an instant, on the program's calendar ------------------------------------
def test_a_declared_state_starts_at_midnight_in_the_programs_zone() -> None:
    p = program(CLOSED)  # 2026-03-10 in New York, daylight time since 8 March: 04:00 UTC
    assert status_at(p, (), datetime(2026, 3, 10, 3, 59, 59, tzinfo=UTC)).state == "active"
    assert status_at(p, (), datetime(2026, 3, 10, 4, 0, tzinfo=UTC)).state == "closed_to_new_enrollment"


def test_a_recorded_change_counts_from_its_effective_date() -> None:
    p = program()
    change = ProgramStatusChange("pst_1", p.id, "eliminated", date(2026, 12, 1), "FDA letter", "admin:a",
                                 datetime(2026, 11, 1, tzinfo=UTC))
    # 1 December 2026 in New York (standard time) begins at 05:00 UTC
    assert status_at(p, [change], datetime(2026, 12, 1, 4, 59, tzinfo=UTC)).state == "active"
    now = status_at(p, [change], datetime(2026, 12, 1, 5, 0, tzinfo=UTC))
    assert (now.state, now.source, now.reason) == ("eliminated", "admin:a", "FDA letter")


def test_a_recorded_change_cannot_undo_a_declared_one() -> None:
    p = program(DISCRETION)
    closed = ProgramStatusChange("pst_1", p.id, "closed_to_new_enrollment", date(2026, 5, 1), "x", "admin:a",
                                 datetime(2026, 1, 1, tzinfo=UTC))
    assert status_at(p, [closed], datetime(2026, 6, 1, tzinfo=UTC)).state == "enforcement_discretion"


# -- waivers ---------------------------------------------------------------------------------
MET = need(True, "R25", "R25_PHARMACY_NOT_CERTIFIED", "m", "r")
R26 = need(False, "R26", "R26_CONFIRMATION_INVALID", "m", "r")
R19 = need(False, "R19", "R19_PRESCRIBER_SURVEY_MISSING", "m", "r")
R9 = need(False, "R9", "R9_RECENT_TEST_MISSING", "m", "r")
SPEC = RelaxationSpec("portal_down", "d", frozenset({"R26_CONFIRMATION_INVALID", "R19"}), 4, 72)


def test_a_decision_is_allowed_only_when_every_failure_is_waived() -> None:
    d = Decision("confirm", (MET, R26, R9))
    assert not d.allowed
    assert not dataclasses.replace(d, waivers=(Waiver("w", ("R26_CONFIRMATION_INVALID",)),)).allowed
    both = dataclasses.replace(d, waivers=(Waiver("w", ("R26_CONFIRMATION_INVALID", "R9_RECENT_TEST_MISSING")),))
    assert both.allowed and [f.code for f in both.failures] == ["R26_CONFIRMATION_INVALID", "R9_RECENT_TEST_MISSING"]
    shown = both.as_dict()
    assert shown["allowed"] is True
    assert shown["would_refuse"] == ["R26_CONFIRMATION_INVALID", "R9_RECENT_TEST_MISSING"]
    assert shown["waivers"] == [{"name": "w", "codes": ["R26_CONFIRMATION_INVALID", "R9_RECENT_TEST_MISSING"]}]
    assert {"stage", "failures", "requirements"} <= set(shown)


def test_discretion_waives_every_failure() -> None:
    waived = waive(Decision("dispense", (MET, R26, R9)), "enforcement_discretion")
    assert waived is not None and waived.allowed
    assert waive(Decision("dispense", (MET,)), "enforcement_discretion") is None  # nothing to waive


def test_a_relaxation_waives_by_code_or_rule_id_within_its_cap() -> None:
    d = Decision("confirm", (MET, R26, R19))
    assert waive(d, "portal_down", SPEC, days_supply=4) is not None  # R26 by code, R19 by rule id
    assert waive(d, "portal_down", SPEC, days_supply=5) is None  # over the 4-day cap
    assert waive(Decision("confirm", (R26, R9)), "portal_down", SPEC, days_supply=4) is None  # R9 not waived


def test_an_activation_ends_within_the_declared_hours() -> None:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert activation_end(SPEC, start, None) == datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
    assert activation_end(SPEC, start, 6) == datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    assert activation_end(SPEC, start, 500) == datetime(2026, 3, 5, 9, 0, tzinfo=UTC)


def test_no_waiver_issues_an_frp_authorization_without_a_qualifying_test() -> None:
    """R23: the authorization's validity counts from the qualifying negative test."""
    assert waive(Decision("authorize", (R19, R9)), "enforcement_discretion") is None
    assert waive(Decision("confirm", (R9,)), "enforcement_discretion") is not None
