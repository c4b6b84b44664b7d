"""Programs as data: the shipped TOML files load, malformed ones are refused naming the field."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest

from workflows.program import (
    PROGRAM_DIR,
    ProgramError,
    SurveyRule,
    load_program,
    load_programs,
    parse_program,
)

BASE = (PROGRAM_DIR / "pomalidomide.toml").read_text(encoding="utf-8")
HEADER = BASE[:BASE.index("\n[[parameters]]\n") + 1]  # id, name, drug, rxnorm, prefix; no parameters
LATER = "\n[[parameters]]\neffective_from = {day}\n{body}\n"


def edited(old: str, new: str, text: str = BASE) -> str:
    assert old in text, f"the shipped file no longer contains {old!r}"
    return text.replace(old, new, 1)


def line_of(name: str) -> str:
    """The whole `name = ...` line of the first parameter block, comment included."""
    return next(line for line in BASE.splitlines() if line.startswith(f"{name} "))


def with_later_block(day: str, body: str, text: str = BASE) -> str:
    return text + LATER.format(day=day, body=body)


def refused(text: str) -> ProgramError:
    with pytest.raises(ProgramError) as error:
        parse_program(text, "test.toml")
    assert error.value.source == "test.toml"
    return error.value


def test_the_three_shipped_programs_load_with_distinct_prefixes():
    programs = load_programs()
    assert set(programs) == {"pomalidomide", "lenalidomide", "thalidomide"}
    assert len({p.authorization_prefix for p in programs.values()}) == 3
    for program in programs.values():
        params = program.at(date(2026, 3, 2))
        assert (params.max_supply_days, params.max_refills, params.child_age_years) == (28, 0, 18)


def test_the_unedited_base_text_parses():
    program = parse_program(BASE, "test.toml")
    assert (program.id, program.authorization_prefix, program.rxnorm) == ("pomalidomide", "POM", ("1369713",))
    assert len(program.parameter_sets) == 1


@pytest.mark.parametrize(("text", "field"), [
    (edited(line_of("max_refills"), line_of("max_refills") + "\nfrobnicate = 3"), "parameters[0].frobnicate"),
    (edited(line_of("max_supply_days") + "\n", ""), "parameters[0].max_supply_days"),
    (edited(line_of("max_supply_days"), "max_supply_days = -1"), "parameters[0].max_supply_days"),
    (edited(line_of("max_supply_days"), "max_supply_days = 0"), "parameters[0].max_supply_days"),
    (edited(line_of("max_refills"), "max_refills = -1"), "parameters[0].max_refills"),
    (edited(line_of("max_supply_days"), "max_supply_days = true"), "parameters[0].max_supply_days"),
    (edited(line_of("max_supply_days"), "max_supply_days = 28.5"), "parameters[0].max_supply_days"),
    (edited(line_of("max_supply_days"), 'max_supply_days = "28"'), "parameters[0].max_supply_days"),
    (edited(line_of("home_tests_allowed"), "home_tests_allowed = 1"), "parameters[0].home_tests_allowed"),
    (edited(line_of("effective_from"), "effective_from = 2013-02-08T00:00:00"), "parameters[0].effective_from"),
    (edited(line_of("effective_from") + "\n", ""), "parameters[0].effective_from"),
    (edited(line_of("child_male") + "\n", ""), "parameters[0].survey.child_male"),
    (edited(line_of("child_male"), line_of("child_male") + "\nadult_female = { interval_days = 30, "
            "before_first = true }"), "parameters[0].survey.adult_female"),
    (edited("adult_frp = { interval_days = 30,", "adult_frp = { interval_days = 0,"),
     "parameters[0].survey.adult_frp.interval_days"),
    (edited("adult_frp = { interval_days = 30,", "adult_frp = { interval_days = true,"),
     "parameters[0].survey.adult_frp.interval_days"),
    (edited("adult_frp = { interval_days = 30, before_first = true }", "adult_frp = { interval_days = 30 }"),
     "parameters[0].survey.adult_frp"),
    (edited(line_of("initial_test_early_min_days"), "initial_test_early_min_days = 15"),
     "parameters[0].initial_test_early_min_days"),
    (edited(line_of("initial_test_recent_hours"), "initial_test_recent_hours = 240"),
     "parameters[0].initial_test_recent_hours"),
    (with_later_block("2010-01-01", "max_supply_days = 21"), "parameters[1].effective_from"),
    (with_later_block("2013-02-08", "max_supply_days = 21"), "parameters[1].effective_from"),
    (with_later_block("2027-01-01", "max_supply_days = 0"), "parameters[1].max_supply_days"),
    (with_later_block("2027-01-01", "initial_test_early_max_days = 5"), "parameters[1].initial_test_early_min_days"),
    (edited(line_of("max_supply_days"), "max_supply_days = = 28"), "(file)"),
    (edited('name = "PS-Pomalidomide REMS"', "name = ''"), "name"),
    (edited('drug = "pomalidomide"', 'drug = "pomalidomide"\nwebsite = "x"'), "website"),
    (edited('rxnorm = ["1369713"]', "rxnorm = [1369713]"), "rxnorm"),
], ids=["unknown-parameter", "missing-parameter", "negative", "zero", "negative-where-zero-allowed",
        "bool-for-number", "float-for-number", "text-for-number", "number-for-bool", "datetime-effective-from",
        "missing-effective-from", "survey-missing-category", "survey-unknown-category", "survey-zero-interval",
        "survey-bool-interval", "survey-rule-incomplete", "r9-min-over-max", "r9-recent-overlaps-early",
        "later-block-earlier-date", "later-block-same-date", "later-block-zero", "later-block-inconsistent",
        "invalid-toml", "empty-name", "unknown-top-level-field", "rxnorm-not-text"])
def test_a_malformed_program_is_refused_naming_the_field(text, field):
    assert refused(text).field == field


def test_a_program_without_parameter_blocks_is_refused():
    assert refused(HEADER).field == "parameters"


@pytest.mark.parametrize("entries", ["[1]", "[[1]]"])
def test_a_parameters_entry_that_is_not_a_table_is_refused_as_a_program_error(entries):
    assert refused(HEADER + f"parameters = {entries}\n").field.startswith("parameters[0]")


def test_a_later_block_overrides_only_the_fields_it_names_from_its_date():
    text = with_later_block("2027-01-01", "max_supply_days = 21\n[parameters.survey]\n"
                            "adult_fnrp = { interval_days = 90, before_first = true }")
    program = parse_program(text, "test.toml")
    first, second = program.parameter_sets
    assert program.at(date(2026, 12, 31)) is first
    assert program.at(date(2027, 1, 1)) is second
    # T3: effective at midnight in the program's zone (New York, UTC-5 in January), not UTC's
    assert program.at(datetime(2027, 1, 1, 4, 59, 59, tzinfo=UTC)) is first
    assert program.at(datetime(2027, 1, 1, 5, tzinfo=UTC)) is second
    assert (first.max_supply_days, second.max_supply_days) == (28, 21)
    assert second.survey["adult_fnrp"] == SurveyRule(90, True)
    assert first.survey["adult_fnrp"] == SurveyRule(182, True)  # the earlier block is untouched
    unchanged = {**first.survey, "adult_fnrp": SurveyRule(90, True)}
    assert second == dataclasses.replace(first, effective_from=date(2027, 1, 1), max_supply_days=21,
                                         survey=unchanged)


def test_at_picks_the_latest_block_in_force_among_several():
    text = with_later_block("2030-01-01", "refill_window_days = 5",
                            with_later_block("2027-01-01", "refill_window_days = 6"))
    program = parse_program(text, "test.toml")
    windows = [program.at(date(y, 6, 1)).refill_window_days for y in (2026, 2027, 2029, 2030, 2040)]
    assert windows == [7, 6, 6, 5, 5]


def test_asking_for_a_date_before_the_first_block_is_refused():
    program = parse_program(BASE, "test.toml")
    with pytest.raises(ProgramError) as error:
        program.at(date(2013, 2, 7))
    assert error.value.field == "effective_from"
    assert program.at(date(2013, 2, 8)) is program.parameter_sets[0]


def test_a_program_file_must_be_named_after_its_id(tmp_path):
    path = tmp_path / "other.toml"
    path.write_text(BASE, encoding="utf-8")
    with pytest.raises(ProgramError) as error:
        load_program(path)
    assert error.value.field == "id"


def test_a_directory_without_programs_is_refused(tmp_path):
    with pytest.raises(ProgramError):
        load_programs(tmp_path)
