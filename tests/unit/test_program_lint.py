"""`rems program check` (issue 17 item 9): findings named by file field, T4 safety, the table."""

from __future__ import annotations

import pytest

from workflows import lint
from workflows.program import PROGRAM_DIR, ProgramError, load_program, parse_program

BASE = (PROGRAM_DIR / "pomalidomide.toml").read_text(encoding="utf-8")


def _without(text: str, requirement_id: str) -> str:
    blocks = text.split("\n[[requirements]]\n")
    return "\n[[requirements]]\n".join([blocks[0], *(b for b in blocks[1:] if f'id = "{requirement_id}"' not in b)])


def findings(text: str) -> list[tuple[str, str]]:
    return [(f.level, f.field) for f in lint.check(parse_program(text, "test.toml"))]


def test_every_program_file_in_the_tree_passes_its_own_check():
    for path in sorted(PROGRAM_DIR.glob("*.toml")):
        program = load_program(path)
        assert not [f for f in lint.check(program) if f.level == "error"], path.name


@pytest.mark.parametrize(("dropped", "what"), [("pharmacy-certified", "the pharmacy's certification"),
                                               ("prescriber-certified", "the prescriber's certification"),
                                               ("patient-enrolled", "the patient's enrollment")])
def test_t4_a_gate_without_a_certification_or_enrollment_is_refused_at_load(dropped, what):
    with pytest.raises(ProgramError) as caught:
        parse_program(_without(BASE, dropped), "test.toml")
    assert caught.value.field == "requirements" and what in caught.value.reason


def test_t4_a_date_from_which_nothing_is_in_force_is_refused():
    ended = BASE.replace('stakeholder = "prescriber"', 'stakeholder = "prescriber"\nuntil = 2027-01-01', 1)
    with pytest.raises(ProgramError) as caught:
        parse_program(ended, "test.toml")
    assert "from 2027-01-01 the prescriber's certification is not required" in caught.value.reason


def test_a_requirement_without_an_fda_code_is_named_by_its_block():
    text = BASE.replace('rule = "R24"\nfda_code = "C128513"', 'rule = "R24"', 1)
    assert ("warning", "requirements[7].fda_code") in findings(text)


def test_a_pregnancy_test_for_everyone_is_flagged():
    text = BASE.replace('rule = "R9"\napplies_to = ["adult_frp", "child_frp"]', 'rule = "R9"', 1)
    assert ("warning", "requirements[4].applies_to") in findings(text)


def test_a_gap_between_two_versions_of_a_requirement_is_flagged():
    text = BASE.replace('kind = "supply"\nid = "supply"', 'kind = "supply"\nid = "supply"\nuntil = 2027-01-01', 1)
    text += '\n[[requirements]]\nkind = "supply"\nid = "supply"\nrule = "R24"\nfda_code = "C128513"\neffective_from = 2027-02-01\n'
    assert ("warning", "requirements[13].effective_from") in findings(text)


def test_declared_deviations_and_unused_parameters_are_reported():
    ipledge = lint.check(load_program(PROGRAM_DIR / "ipledge.toml"))
    assert ("warning", "deviations.max_supply_days") in [(f.level, f.field) for f in ipledge]
    myco = lint.check(load_program(PROGRAM_DIR / "mycophenolate.toml"))
    unused = next(f for f in myco if f.field == "parameters")
    assert "initial_test_early_min_days" in unused.message and "child_age_years" not in unused.message


def test_the_table_lists_every_block_in_the_gates_order():
    rows = lint.table(load_program(PROGRAM_DIR / "pomalidomide.toml"))
    assert [r["rule"] for r in rows] == ["R1", "R25", "R5", "R30", "R9", "R20", "R19", "R24", "R15", "R23",
                                         "R28", "R26", "R29"]
    assert rows[4]["applies_to"] == "adult_frp, child_frp" and rows[1]["stages"] == "confirm, dispense"


@pytest.mark.parametrize("narrowing", ['stages = ["dispense"]', 'applies_to = ["adult_male"]'])
def test_t4_a_safeguard_narrowed_by_stages_or_categories_does_not_count(narrowing):
    # an adversary's file: the prescriber's certification checked only at the counter, or only for males
    narrowed = BASE.replace('stakeholder = "prescriber"', f'stakeholder = "prescriber"\n{narrowing}', 1)
    with pytest.raises(ProgramError) as caught:
        parse_program(narrowed, "test.toml")
    assert "the prescriber's certification is not required" in caught.value.reason
