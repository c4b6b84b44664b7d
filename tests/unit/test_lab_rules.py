"""The lab_test kind's parser (issue 17 item 1): the docs' examples load with PROGRAMS.md's
numbers; every bad field is a ProgramError naming the file and the field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.unit.labs_examples import options, rule
from workflows.labs import Phase, parse_lab_rule
from workflows.program import ProgramError


def test_the_bosentan_example_reads_as_programs_md_says() -> None:
    liver = rule("liver")
    assert liver.analytes == ("ALT", "AST") and not liver.advisory
    assert liver.cadence == (Phase(30),)  # monthly
    assert liver.hold is not None and liver.hold.action == "monitor" and liver.hold.every_days == 14
    assert [(t.comparison, t.limit) for t in liver.hold.when] == [("above_uln_multiple", Decimal(3))]
    assert [(t.comparison, t.limit, t.analytes) for t in liver.stop] == [
        ("above_uln_multiple", Decimal(5), ("ALT", "AST")),
        ("at_or_above_uln_multiple", Decimal(2), ("bilirubin",))]
    assert liver.settings == frozenset({"lab"})


def test_the_clozapine_example_reads_as_programs_md_says() -> None:
    anc = rule("anc")
    assert anc.advisory and anc.analytes == ("ANC",) and anc.unit == "cells/uL"
    # weekly for 6 months, every 2 weeks to month 12, then monthly
    assert anc.cadence == (Phase(7, 182), Phase(14, 365), Phase(30))
    assert [anc.interval_on(day) for day in (0, 181, 182, 364, 365, 2000)] == [7, 7, 14, 14, 30, 30]
    assert anc.hold is not None and anc.hold.action == "block_until_normal"


def _refused(spec: str, change: dict[str, Any], drop: tuple[str, ...] = ()) -> ProgramError:
    raw = {k: v for k, v in {**options(spec), **change}.items() if k not in drop}
    with pytest.raises(ProgramError) as refused:
        parse_lab_rule("prog.toml", "requirements[3].", spec, raw)
    assert refused.value.source == "prog.toml"
    return refused.value


@pytest.mark.parametrize(("change", "field"), [
    ({"cadense": []}, "cadense"),  # unknown field
    ({"analytes": []}, "analytes"),
    ({"analytes": ["ALT", "hCG"]}, "analytes[1]"),  # hCG is the pregnancy-test kind's
    ({"analytes": ["ALT", "ALT"]}, "analytes"),
    ({"analytes": "ALT"}, "analytes"),
    ({"initial_window_days": 0}, "initial_window_days"),
    ({"initial_window_days": 7.5}, "initial_window_days"),
    ({"initial_window_days": True}, "initial_window_days"),
    ({"settings": ["clinic"]}, "settings"),
    ({"advisory": "yes"}, "advisory"),
    ({"unit": ""}, "unit"),
    ({"cadence": []}, "cadence"),
    ({"cadence": [{"every_days": 7, "until_day": 182}]}, "cadence[0].until_day"),  # last is open-ended
    ({"cadence": [{"every_days": 7}, {"every_days": 30}]}, "cadence[0].until_day"),
    ({"cadence": [{"every_days": 7, "until_day": 182}, {"every_days": 14, "until_day": 182},
                  {"every_days": 30}]}, "cadence[1].until_day"),  # not increasing
    ({"cadence": [{"until_day": 5}, {"every_days": 30}]}, "cadence[0].every_days"),
    ({"cadence": [{"every_days": 0}]}, "cadence[0].every_days"),
    ({"cadence": [{"every_days": 30, "often": 1}]}, "cadence[0].often"),
    ({"acceptance": {}}, "acceptance"),
    ({"acceptance": {"max_uln": 3}}, "acceptance.max_uln"),
    ({"acceptance": {"max_uln_multiple": "3"}}, "acceptance.max_uln_multiple"),
    ({"acceptance": {"max_uln_multiple": float("nan")}}, "acceptance.max_uln_multiple"),
    ({"acceptance": {"max_uln_multiple": 0}}, "acceptance.max_uln_multiple"),
    ({"acceptance": {"max_value": 100}}, "unit"),  # an absolute limit needs the rule's unit
    ({"hold": {"action": "pause", "when": [{"above_uln_multiple": 3}]}}, "hold.action"),
    ({"hold": {"action": "monitor", "when": [{"above_uln_multiple": 3}]}}, "hold.every_days"),
    ({"hold": {"action": "monitor", "every_days": 30, "when": [{"above_uln_multiple": 3}]}},
     "hold.every_days"),  # not shorter than the monthly cadence
    ({"hold": {"action": "block_until_normal", "every_days": 14, "when": [{"above_uln_multiple": 3}]}},
     "hold.every_days"),
    ({"hold": {"action": "monitor", "every_days": 14}}, "hold.when"),
    ({"hold": {"action": "monitor", "every_days": 14, "when": [{}]}}, "hold.when[0]"),
    ({"hold": {"action": "monitor", "every_days": 14, "when": [{"above_uln_multiple": 3, "below": 1}]}},
     "hold.when[0]"),
    ({"hold": {"action": "monitor", "every_days": 14, "when": [{"above_uln_multiple": 2}]}},
     "hold.when[0]"),  # below acceptance's 3 x ULN: an accepted result would be held
    ({"stop": [{"above_uln_multiple": 3}]}, "stop[0]"),  # not beyond the hold
    ({"stop": [{"above_uln_multiple": 5, "analytes": ["LDH"]}]}, "stop[0].analytes[0]"),
    ({"stop": []}, "stop"),
])
def test_a_bad_field_is_named(change: dict[str, Any], field: str) -> None:
    assert _refused("liver", change).field == "requirements[3]." + field


@pytest.mark.parametrize("missing", ["analytes", "initial_window_days", "cadence", "acceptance"])
def test_a_missing_required_field_is_named(missing: str) -> None:
    assert _refused("anc", {}, drop=(missing,)).field == "requirements[3]." + missing


def test_an_anc_floor_must_lie_below_the_hold_floor() -> None:
    assert _refused("anc", {"stop": [{"below": 1000}]}).field == "requirements[3].stop[0]"
    assert _refused("anc", {"unit": None}, drop=("unit",)).field == "requirements[3].unit"


def test_the_common_keys_of_a_requirement_block_are_left_to_the_core() -> None:
    liver = parse_lab_rule("prog.toml", "requirements[0].", "liver",
                           {**options("liver"), "kind": "lab_test", "id": "liver", "rule": "BOS2"})
    assert liver == rule("liver")
