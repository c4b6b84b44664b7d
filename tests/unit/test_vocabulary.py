"""Issue 17: a program's gate is the [[requirements]] its file declares, from a fixed vocabulary.

The expected answers come from REMS_RULES.md ("What every state is satisfied means at the
pharmacy", items 1-8) and from the blocks each test writes, never from the gate itself."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from rems.domain import gate
from tests.unit.builders import T0, WHEN, case, frp_case, male_case, pregnancy_test, program
from workflows.program import PROGRAM_DIR, ProgramError, parse_program
from workflows.vocabulary import KINDS, RequirementSpec, VocabularyError, parse_requirement

BASE = (PROGRAM_DIR / "pomalidomide.toml").read_text(encoding="utf-8")
# everything but the requirements (and the forms, which name requirements)
HEAD = "".join(line for line in BASE[:BASE.index("\n[[requirements]]\n") + 1].splitlines(keepends=True)
               if not line.startswith("questionnaires ="))

# REMS_RULES.md, "What every state is satisfied means at the pharmacy": the rule ids a complete
# check names at each stage, for an FRP adult and for a male adult.
DISPENSE_FRP = {"R1", "R3", "R25", "R5", "R8", "R30", "R34", "R9", "R10", "R11", "R20", "R19", "R23",
                "R33", "R24", "R28", "R26", "R27", "R29", "R22", "R15"}
PHARMACY_ONLY = {"R25", "R28", "R26", "R27", "R29"}


def refused(text: str) -> ProgramError:
    with pytest.raises(ProgramError) as caught:
        parse_program(text, "test.toml")
    return caught.value


def rules_named(stage: str, records: gate.Records) -> set[str]:
    return {r.rule for r in gate.evaluate(stage, records, program(), WHEN[stage]).requirements}


@pytest.mark.parametrize("stage", ["authorize", "confirm", "dispense"])
def test_the_imid_file_declares_every_safeguard_of_the_pharmacy_list(stage):
    named = rules_named(stage, frp_case(stage))
    # Each item of the list is named (a rule of an unmet state may be its sibling: R3 for R1...).
    for item in ({"R1", "R3"}, {"R5", "R12"}, {"R8"}, {"R9", "R11"}, {"R20"}, {"R19"}, {"R24"}):
        assert named & item, (stage, item)
    if stage == "authorize":
        assert not named & PHARMACY_ONLY  # the pharmacy is not known yet
    else:
        assert {"R25", "R28", "R23", "R22"} <= named
    assert ({"R26", "R27", "R29"} <= named) == (stage == "dispense")


def test_a_male_has_no_pregnancy_test_requirement_and_no_contraception_attestation():
    named = rules_named("dispense", male_case("dispense"))
    assert not named & {"R9", "R10", "R11", "R15"}
    assert named <= DISPENSE_FRP


def test_each_requirement_carries_its_declared_fda_code():
    decision = gate.evaluate("dispense", frp_case("dispense"), program(), WHEN["dispense"])
    codes = {r.rule: r.fda_code for r in decision.requirements}
    assert codes["R1"] == "C128504" and codes["R5"] == "C128509" and codes["R9"] == "C128523"
    assert codes["R20"] == "C128525" and codes["R24"] == "C128513" and codes["R26"] == "C128516"
    assert all(r.fda_code for r in decision.requirements)


# The file decides: removing, retiring, re-scoping or renaming a requirement changes the gate.


def _without(text: str, requirement_id: str) -> str:
    blocks = text.split("\n[[requirements]]\n")
    kept = [b for b in blocks[1:] if f'id = "{requirement_id}"' not in b]
    assert len(kept) == len(blocks) - 2, requirement_id
    return "\n[[requirements]]\n".join([blocks[0], *kept])


def _program(text: str):
    return parse_program(text, "pomalidomide.toml")


def test_a_requirement_left_out_of_the_file_is_not_evaluated():
    records = frp_case("authorize", tests=())  # no pregnancy test at all: R9 refuses
    assert not gate.evaluate("authorize", records, program(), T0).allowed
    lenient = _program(_without(BASE, "pregnancy-tests"))
    decision = gate.evaluate("authorize", records, lenient, T0)
    assert decision.allowed
    assert not {r.rule for r in decision.requirements} & {"R9", "R10", "R11", "R23"}


def test_a_retired_requirement_stops_on_its_date_in_the_programs_zone():
    retired = BASE.replace('analyte = "hCG"', 'analyte = "hCG"\nuntil = 2026-03-02', 1)
    records = frp_case("authorize", tests=())
    p = _program(retired)
    # 2026-03-02 00:00 in New York is 05:00 UTC: just before it the tests still apply.
    before, after = T0.replace(hour=4, minute=59), T0.replace(hour=5, minute=0)
    assert "R9" in {r.rule for r in gate.evaluate("authorize", records, p, before).failures}
    assert gate.evaluate("authorize", records, p, after).allowed


def test_a_requirement_in_force_from_a_future_date_waits_for_it_and_a_version_can_be_previewed():
    records = male_case("authorize", prescription=replace(male_case().prescription, days_supply=28,
                                                                       quantity=28))
    stricter = BASE + ('\n[[requirements]]\nkind = "lab_test"\nid = "male-tests"\nanalyte = "hCG"\n'
                       'rule = "R9"\napplies_to = ["adult_male"]\neffective_from = 2026-04-01\n')
    p = _program(stricter)
    assert gate.evaluate("authorize", records, p, T0).allowed  # not yet in force
    preview = gate.evaluate("authorize", records, p, T0, version_on=date(2026, 4, 1))
    assert "R9_EARLY_TEST_MISSING" in {r.code for r in preview.failures}
    later = gate.evaluate("authorize", records, p, T0 + timedelta(days=31))
    assert "R9_EARLY_TEST_MISSING" in {r.code for r in later.failures}


def test_applies_to_scopes_a_requirement_to_its_categories():
    everyone = BASE.replace('rule = "R15"\napplies_to = ["adult_frp", "child_frp"]', 'rule = "R15"', 1)
    records = male_case("authorize")
    records = replace(records, prescription=replace(records.prescription,
                                                    contraception_counselling_attested=False))
    assert gate.evaluate("authorize", records, program(), T0).allowed  # R15 is FRP only
    failures = gate.evaluate("authorize", records, _program(everyone), T0).failures
    assert {r.code for r in failures} == {"R15_CONTRACEPTION_NOT_ATTESTED"}


def test_a_program_names_requirements_by_its_own_rule_ids():
    renamed = BASE.replace('analyte = "hCG"                            # R9-R11, R23: windows and cadence '
                           'from [[parameters]]\nrule = "R9"', 'analyte = "hCG"\nrule = "IP3"\n'
                           'rules = { R23 = "IP4" }', 1)
    records = frp_case("authorize", tests=(pregnancy_test(T0 - timedelta(hours=2)),))
    failures = gate.evaluate("authorize", records, _program(renamed), T0).failures
    assert {(r.rule, r.code) for r in failures} == {("IP3", "R9_EARLY_TEST_MISSING")}


def test_the_stages_a_block_names_are_the_stages_it_applies_at():
    only_dispense = BASE.replace('kind = "supply"\nid = "supply"', 'kind = "supply"\nid = "supply"\n'
                                 'stages = ["dispense"]', 1)
    records = case("adult_male", "authorize")
    records = replace(records, prescription=replace(records.prescription, days_supply=29, quantity=29))
    p = _program(only_dispense)
    assert "R24" in {r.rule for r in gate.evaluate("authorize", records, program(), T0).failures}
    assert gate.evaluate("authorize", records, p, T0).allowed
    dispense = replace(case("adult_male", "dispense"), prescription=replace(
        case("adult_male", "dispense").prescription, days_supply=29, quantity=29))
    assert "R24" in {r.rule for r in gate.evaluate("dispense", dispense, p, WHEN["dispense"]).failures}


def test_the_counselling_refusal_names_each_missing_item():
    records = case("adult_male", "dispense")
    records = replace(records, counselling=replace(records.counselling, medication_guide_given=False))
    failure = gate.evaluate("dispense", records, program(), WHEN["dispense"]).failures[0]
    assert failure.code == "R29_COUNSELLING_INCOMPLETE"
    assert failure.remedy.endswith(": Medication Guide given")


# T4 and the loader: a program without a gate says so; every field is checked by name.


def test_the_requirements_key_is_required():
    assert refused(HEAD).field == "requirements"


def _top(text: str, lines: str) -> str:
    """`lines` as top-level keys (before the first table)."""
    return text.replace('authorization_prefix = "POM"', 'authorization_prefix = "POM"\n' + lines, 1)


def test_a_program_with_no_requirements_must_say_it_is_information_only():
    assert refused(_top(HEAD, "requirements = []")).field == "requirements"
    loaded = parse_program(_top(HEAD, 'requirements = []\ninformation_only = "registry and training only"'))
    assert loaded.requirements == () and loaded.information_only
    allowed = gate.evaluate("dispense", frp_case("dispense", tests=()), loaded, WHEN["dispense"])
    assert allowed.allowed and allowed.requirements == ()
    assert refused(_top(BASE, 'information_only = "x"')).field == "information_only"


@pytest.mark.parametrize(("block", "field"), [
    ({"kind": "magic", "id": "a", "rule": "R1"}, "kind"),
    ({"kind": "survey", "id": "a", "rule": "R20"}, "respondent"),
    ({"kind": "survey", "id": "a", "rule": "R20", "respondent": "patient", "colour": "red"}, "colour"),
    ({"kind": "supply", "id": "a", "rule": "r24"}, "rule"),
    ({"kind": "supply", "id": "", "rule": "R24"}, "id"),
    ({"kind": "supply", "id": "a", "rule": "R24", "fda_code": "128513"}, "fda_code"),
    ({"kind": "supply", "id": "a", "rule": "R24", "applies_to": ["adult_frp", "teen"]}, "applies_to"),
    ({"kind": "supply", "id": "a", "rule": "R24", "stages": ["readiness"]}, "stages"),
    ({"kind": "counselling", "id": "a", "rule": "R29", "stages": ["confirm"]}, "stages"),
    ({"kind": "certification", "id": "a", "rule": "R25", "stakeholder": "pharmacy",
      "stages": ["authorize"]}, "stages"),
    ({"kind": "supply", "id": "a", "rule": "R24", "effective_from": date(2026, 1, 2),
      "until": date(2026, 1, 1)}, "until"),
    ({"kind": "stop_events", "id": "a", "rule": "R30", "events": ["sneezing"]}, "events"),
    ({"kind": "lab_test", "id": "a", "rule": "R9", "analyte": "unobtainium"}, "analyte"),
    ({"kind": "supply", "id": "a", "rule": "R24", "rules": {"R9": "X1"}}, "rules"),
])
def test_a_bad_block_is_refused_naming_its_field(block, field):
    with pytest.raises(VocabularyError) as caught:
        parse_requirement(block)
    assert caught.value.field == field


def test_a_file_error_names_the_block_and_field():
    bad = BASE.replace('respondent = "patient"', 'respondent = "nobody"', 1)
    error = refused(bad)
    assert error.field.startswith("requirements[") and error.field.endswith("].respondent")


def test_two_blocks_with_one_id_may_not_overlap_in_time():
    again = BASE + '\n[[requirements]]\nkind = "supply"\nid = "supply"\nrule = "R24"\n'
    assert refused(again).field.endswith(".id")
    # a later version of the same requirement is fine once the first one is retired
    versioned = BASE.replace('kind = "supply"\nid = "supply"', 'kind = "supply"\nid = "supply"\n'
                             'until = 2027-01-01', 1) + (
        '\n[[requirements]]\nkind = "supply"\nid = "supply"\nrule = "R24"\neffective_from = 2027-01-01\n')
    assert [s.id for s in parse_program(versioned).requirements].count("supply") == 2


def test_bounds_apply_only_to_parameters_a_declared_requirement_reads():
    # T4: a 60-day detection window would switch R10 off, but a program without pregnancy tests
    # does not read it.
    lax = BASE.replace("test_detection_threshold_miu_per_ml = 50", "test_detection_threshold_miu_per_ml = 500")
    assert refused(lax).field.endswith("test_detection_threshold_miu_per_ml")
    assert parse_program(_without(lax, "pregnancy-tests")).id == "pomalidomide"


def test_every_kind_has_an_evaluator_and_a_documented_entry():
    assert set(gate.EVALUATORS) == set(KINDS)
    manual = (Path(__file__).parents[2] / "docs" / "program-vocabulary.md").read_text(encoding="utf-8")
    for kind in KINDS:
        assert f"`{kind}`" in manual, kind


def test_a_spec_is_in_force_from_its_date_until_the_day_it_retires():
    spec = RequirementSpec("supply", "s", "R24", None, None, frozenset({"authorize"}),
                           date(2026, 1, 1), date(2026, 2, 1))
    assert not spec.in_force(date(2025, 12, 31))
    assert spec.in_force(date(2026, 1, 1)) and spec.in_force(date(2026, 1, 31))
    assert not spec.in_force(date(2026, 2, 1))


def test_every_example_block_in_the_manual_parses():
    import re
    import tomllib
    manual = (Path(__file__).parents[2] / "docs" / "program-vocabulary.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", manual, re.S)
    kinds = set()
    for block in blocks:
        for raw in tomllib.loads(block)["requirements"]:
            kinds.add(parse_requirement(raw).kind)
    assert kinds == set(KINDS)  # an example per kind
