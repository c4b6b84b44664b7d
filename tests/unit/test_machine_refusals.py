"""Every machine condition, when its fact is false, refuses its transition with the rule code that
names it (R1, R2, R11, R12, R23, R25, R5, R6): the refusal says which safeguard is missing.

The expected (rule, code) pairs are written here from REMS_RULES.md, not read from
rems/services/lifecycle.py, so a condition mapped to the wrong rule fails."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from rems.domain.errors import Refused
from rems.services.context import Context
from rems.services.lifecycle import CONDITIONS, transition
from workflows.definitions import WORKFLOWS
from workflows.engine import conditions_of, fire

EXPECTED = {
    "attested": ("R2", "R2_ATTESTATION_MISSING"),
    "education_reviewed": ("R1", "R1_EDUCATION_NOT_REVIEWED"),
    "recertification_due": ("R25", "R25_NOT_DUE"),
    "representative_enrolled": ("R25", "R25_REPRESENTATIVE_MISSING"),
    "staff_trained": ("R25", "R25_STAFF_NOT_TRAINED"),
    "records_and_audits_accepted": ("R25", "R25_AUDITS_NOT_ACCEPTED"),
    "prescriber_certified": ("R5", "R5_PRESCRIBER_NOT_CERTIFIED"),
    "ppaf_matches_category": ("R5", "R5_PPAF_CATEGORY_MISMATCH"),
    "guardian_signed_if_child": ("R6", "R6_GUARDIAN_SIGNATURE_MISSING"),
    "negative_test_since_hold": ("R12", "R12_NEGATIVE_TEST_NEEDED"),
    "weekly_phase_elapsed": ("R11", "R11_WEEKLY_PHASE_RUNNING"),
    "past_expiry": ("R23", "R23_NOT_EXPIRED"),
}
ROUTING = {"cycles_regular"}  # R11: chooses the cadence (every 4 or 2 weeks), never refuses
GATE = "gate_passes"  # the gate's own requirements stand for it (tests/unit/test_gate_*)
CTX = Context("tester", datetime(2026, 3, 2, 9, tzinfo=UTC))


@dataclass
class _Record:
    id: str
    state: str


def _uses() -> list[tuple[str, str, str, list[str], str]]:
    """(workflow, source state, trigger, all its conditions, the one condition made false)."""
    out = []
    for name, workflow in WORKFLOWS.items():
        for t in workflow.transitions:
            sources = t["source"] if isinstance(t["source"], list) else [t["source"]]
            every = conditions_of(workflow, t["trigger"], sources[0])
            for condition in t["conditions"]:
                if condition not in ROUTING | {GATE}:
                    out.append((name, sources[0], t["trigger"], every, condition))
    return out


def test_every_condition_has_an_expected_rule() -> None:
    used = {use[-1] for use in _uses()}
    assert used == set(EXPECTED), sorted(used ^ set(EXPECTED))
    assert set(CONDITIONS) == set(EXPECTED)


def test_irregular_cycles_route_the_weekly_phase_to_every_two_weeks_r11() -> None:
    facts = {"weekly_phase_elapsed": True}
    assert fire("pregnancy_testing", "weekly", "end_weekly_phase", {**facts, "cycles_regular": True}) \
        == "every_4_weeks"
    assert fire("pregnancy_testing", "weekly", "end_weekly_phase", {**facts, "cycles_regular": False}) \
        == "every_2_weeks"


@pytest.mark.parametrize(("workflow", "state", "trigger", "conditions", "false"), _uses(),
                         ids=lambda v: v if isinstance(v, str) else None)
def test_a_false_condition_refuses_with_its_rule_code(workflow: str, state: str, trigger: str,
                                                      conditions: list[str], false: str) -> None:
    record = _Record("rec_1", state)
    facts = {c: c != false for c in conditions}
    with pytest.raises(Refused) as refused:
        transition(None, CTX, workflow, record, trigger, facts)  # type: ignore[arg-type]
    assert [(f.rule, f.code) for f in refused.value.failures] == [EXPECTED[false]]
    assert record.state == state  # nothing moved
