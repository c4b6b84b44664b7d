"""Programs as data: the shipped TOML files load, malformed ones are refused naming the field."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, date, datetime

import pytest

from workflows.bounds import BOUNDS, SURVEY_BOUNDS
from workflows.program import (
    CATEGORIES,
    PROGRAM_DIR,
    Parameters,
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


IMID = ("pomalidomide", "lenalidomide", "thalidomide")
OTHERS = ("ipledge", "bosentan", "mycophenolate", "clozapine")  # issue 17: other designs, as data


def test_the_seven_shipped_programs_load_with_distinct_prefixes():
    programs = load_programs()
    assert set(programs) == {*IMID, *OTHERS}
    assert len({p.authorization_prefix for p in programs.values()}) == 7
    for program in (programs[i] for i in IMID):
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


# T4: each value that would switch a safeguard off, with the field the refusal must name. The
# limits are read from REMS_RULES.md (the label's numbers), not from workflows.bounds.
UNSAFE = [
    ("child_age_years", 17, "R6"),                       # a 17-year-old would sign her own PPAF
    ("postmenopause_months", 12, "R7"),                  # R7: 24 consecutive months
    ("initial_test_early_min_days", 3, "R9"),            # R9: 10 to 14 days before
    ("initial_test_early_max_days", 30, "R9"),
    ("initial_test_recent_hours", 48, "R9"),             # R9: within 24 hours
    ("test_detection_threshold_miu_per_ml", 5000, "R10"),  # R10: at least 50 mIU/mL sensitivity
    ("test_detection_threshold_miu_per_ml", 51, "R10"),
    ("weekly_test_interval_days", 8, "R11"),             # R11: weekly for 4 weeks
    ("weekly_test_weeks", 3, "R11"),
    ("regular_cycle_test_interval_days", 29, "R11"),     # R11: every 4 weeks
    ("irregular_cycle_test_interval_days", 15, "R11"),   # R11: every 2 weeks
    ("contraception_before_days", 27, "R15"),            # R15: 4 weeks before
    ("contraception_after_days", 7, "R15"),              # R15: 4 weeks after
    ("male_condom_after_days", 0, "R16"),                # R16: 28 days after (0 is refused anyway)
    ("male_condom_after_days", 14, "R16"),
    ("blood_donation_after_days", 14, "R18"),            # R18: 4 weeks after
    ("frp_authorization_valid_days", 365, "R23"),        # R23: 7 days from the test
    ("frp_authorization_valid_days", 8, "R23"),
    ("authorization_valid_days", 31, "R23"),             # R23: 30 days from issue
    ("max_supply_days", 29, "R24"),                      # R24: at most 28 days
    ("max_supply_days", 90, "R24"),
    ("max_units_per_day", 9, "R24"),                     # R24: thalidomide's 8 is the family's highest
    ("max_units_per_day", 10000, "R24"),
    ("max_refills", 1, "R24"),                           # R24: no refills
    ("confirmation_valid_hours", 25, "R27"),             # R27: 24 hours
    ("confirmation_valid_hours", 48, "R27"),
    ("refill_window_days", 8, "R28"),                    # R28: at most 7 days on hand
    ("refill_window_days", 28, "R28"),
    ("pharmacy_recertification_days", 0, "R25"),        # R25: lapses after 2 years; 0 = never
    ("pharmacy_recertification_days", 731, "R25"),
]
ZERO_IS_STRUCTURAL = {("male_condom_after_days", 0)}  # refused as "> 0", never deviable


def unsafe_text(name: str, value: int, deviations: str = "") -> str:
    return deviations + edited(line_of(name), f"{name} = {value}")


def deviation(name: str, reason: str = "approved by the FDA on 2026-11-30, letter 42") -> str:
    return f'[deviations]\n"{name}" = "{reason}"\n'


def _prepend(table: str, text: str = BASE) -> str:
    """A [deviations] table placed before the first [[parameters]] block (TOML: top-level keys first)."""
    return edited("\n[[parameters]]\n", f"\n{table}\n[[parameters]]\n", text)


@pytest.mark.parametrize(("name", "value", "rule"), UNSAFE, ids=[f"{n}={v}" for n, v, _ in UNSAFE])
def test_t4_a_value_that_switches_a_safeguard_off_is_refused_naming_the_field_and_rule(name, value, rule):
    error = refused(edited(line_of(name), f"{name} = {value}"))
    assert error.field == f"parameters[0].{name}"
    if (name, value) not in ZERO_IS_STRUCTURAL:
        assert rule in error.reason and "[deviations]" in error.reason


@pytest.mark.parametrize(("name", "value", "rule"), [u for u in UNSAFE if (u[0], u[1]) not in ZERO_IS_STRUCTURAL],
                         ids=[f"{n}={v}" for n, v, _ in UNSAFE if (n, v) not in ZERO_IS_STRUCTURAL])
def test_t4_a_declared_deviation_loads_and_is_logged(name, value, rule, caplog):
    text = _prepend(deviation(name), edited(line_of(name), f"{name} = {value}"))
    with caplog.at_level(logging.INFO, logger="workflows.program"):
        program = parse_program(text, "test.toml")
    assert getattr(program.parameter_sets[0], name) == value
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert warnings  # one per check the value breaches (a bound, and maybe a cross-check)
    for message in warnings:
        for part in ("test.toml", f"parameters[0].{name} = {value!r}", rule, "letter 42"):
            assert part in message


@pytest.mark.parametrize(("text", "field"), [
    # R28: a refill window as long as the supply is always open (both inside their own bounds).
    (edited(line_of("max_supply_days"), "max_supply_days = 7"), "parameters[0].refill_window_days"),
    # R23 x R11: an FRP authorization that outlives the weekly test interval.
    (edited(line_of("weekly_test_interval_days"), "weekly_test_interval_days = 5"),
     "parameters[0].frp_authorization_valid_days"),
    # R11: irregular cycles tested less often than regular ones.
    (edited(line_of("regular_cycle_test_interval_days"), "regular_cycle_test_interval_days = 10"),
     "parameters[0].irregular_cycle_test_interval_days"),
    # R11: the interval for irregular cycles shorter than the weekly one is no "every 2 weeks" at all.
    (edited(line_of("irregular_cycle_test_interval_days"), "irregular_cycle_test_interval_days = 5"),
     "parameters[0].irregular_cycle_test_interval_days"),
], ids=["r28-window-as-long-as-supply", "r23-auth-outlives-weekly-test", "r11-irregular-over-regular",
        "r11-irregular-under-weekly"])
def test_t4_a_cross_check_between_parameters_is_refused_naming_the_field(text, field):
    error = refused(text)
    assert error.field == field and "[deviations]" in error.reason


@pytest.mark.parametrize(("category", "days"), [("adult_frp", 31), ("child_frp", 60), ("adult_fnrp", 183),
                                                ("child_fnrp", 31), ("adult_male", 31), ("child_male", 365)])
def test_t4_r20_a_survey_interval_beyond_the_label_is_refused_and_deviable(category, days, caplog):
    """R20: monthly (30 days) for every category, every 6 months (182 days) for adult FNRP."""
    old = line_of(category)
    text = edited(old, old.replace("interval_days = 30,", f"interval_days = {days},")
                  .replace("interval_days = 182,", f"interval_days = {days},"))
    assert refused(text).field == f"parameters[0].survey.{category}.interval_days"
    with caplog.at_level(logging.INFO, logger="workflows.program"):
        program = parse_program(_prepend(deviation(f"survey.{category}.interval_days"), text), "test.toml")
    assert program.parameter_sets[0].survey[category].interval_days == days
    assert f"survey.{category}.interval_days" in caplog.text


@pytest.mark.parametrize("category", ["adult_frp", "child_frp", "adult_fnrp", "child_fnrp"])
def test_t4_r20_only_males_may_skip_the_survey_before_the_first_prescription(category):
    old = line_of(category)
    text = edited(old, old.replace("before_first = true", "before_first = false"))
    assert refused(text).field == f"parameters[0].survey.{category}.before_first"
    assert parse_program(_prepend(deviation(f"survey.{category}.before_first"), text), "test.toml")


def test_t4_a_males_survey_before_the_first_prescription_is_stricter_and_needs_no_deviation():
    old = line_of("adult_male")
    program = parse_program(edited(old, old.replace("before_first = false", "before_first = true")))
    assert program.parameter_sets[0].survey["adult_male"].before_first is True


def test_t4_a_later_block_is_bounded_too_and_a_file_deviation_covers_it(caplog):
    text = with_later_block("2027-01-01", "refill_window_days = 14")
    assert refused(text).field == "parameters[1].refill_window_days"
    with caplog.at_level(logging.INFO, logger="workflows.program"):
        program = parse_program(_prepend(deviation("refill_window_days"), text), "test.toml")
    assert [p.refill_window_days for p in program.parameter_sets] == [7, 14]
    assert "parameters[1].refill_window_days = 14" in caplog.text


@pytest.mark.parametrize(("name", "value"), [("max_supply_days", 21), ("refill_window_days", 3),
                                             ("test_detection_threshold_miu_per_ml", 25),
                                             ("frp_authorization_valid_days", 3), ("child_age_years", 21),
                                             ("prescriber_recertification_days", 365)])
def test_t4_a_stricter_value_loads_without_a_deviation(name, value, caplog):
    with caplog.at_level(logging.INFO, logger="workflows.program"):
        program = parse_program(edited(line_of(name), f"{name} = {value}"), "test.toml")
    assert getattr(program.parameter_sets[0], name) == value
    assert not caplog.records


@pytest.mark.parametrize(("table", "field"), [
    ('[deviations]\nfrobnicate_days = "because"\n', "deviations.frobnicate_days"),
    ('[deviations]\n"survey.adult_male.before_first" = "because"\n', "deviations.survey.adult_male.before_first"),
    ('[deviations]\nrefill_window_days = ""\n', "deviations.refill_window_days"),
    ('[deviations]\nrefill_window_days = "   "\n', "deviations.refill_window_days"),
    ("[deviations]\nrefill_window_days = 14\n", "deviations.refill_window_days"),
    ("[deviations]\nrefill_window_days = true\n", "deviations.refill_window_days"),
    ('[deviations]\nrefill_window_days = "the value in the file is 7: nothing deviates"\n',
     "deviations.refill_window_days"),
    ('deviations = ["refill_window_days"]\n', "deviations"),
], ids=["unknown-parameter", "not-a-bound", "empty-reason", "blank-reason", "number-reason", "bool-reason",
        "unused", "not-a-table"])
def test_t4_a_malformed_or_needless_deviation_is_refused(table, field):
    assert refused(_prepend(table)).field == field


def test_t4_a_deviation_without_a_reason_does_not_let_the_value_through():
    text = _prepend('[deviations]\nrefill_window_days = ""\n',
                    edited(line_of("refill_window_days"), "refill_window_days = 28"))
    assert refused(text).field == "deviations.refill_window_days"


def test_t4_the_imid_files_declare_no_deviation_and_only_the_others_log_theirs(caplog):
    with caplog.at_level(logging.INFO, logger="workflows.program"):
        programs = load_programs()
    logged = {r.getMessage().split(".toml")[0] for r in caplog.records}
    assert logged <= set(OTHERS) and not logged & set(IMID)
    for name in IMID:
        assert "[deviations]" not in (PROGRAM_DIR / f"{name}.toml").read_text(encoding="utf-8")
    assert {programs[i].at(date(2026, 3, 2)).max_units_per_day for i in IMID} == {1, 8}


def test_the_bounds_table_covers_every_number_and_every_category():
    """T4: no parameter escapes a bound (a new parameter must get a row)."""
    numbers = {f.name for f in dataclasses.fields(Parameters) if f.type == "int"}
    assert set(BOUNDS) == numbers
    assert set(SURVEY_BOUNDS) == set(CATEGORIES)


@pytest.mark.parametrize("zone", ["America/New_Yrok", "EST5EDT/Nowhere", "", "../etc/passwd"])
def test_t1_an_invalid_time_zone_is_refused(zone):
    assert refused(edited('time_zone = "America/New_York"', f'time_zone = "{zone}"')).field == "time_zone"


def test_t1_time_zone_is_required():
    line = next(line for line in BASE.splitlines() if line.startswith("time_zone "))
    assert refused(edited(line + "\n", "")).field == "time_zone"


def test_t1_the_time_zone_is_kept():
    assert parse_program(edited('time_zone = "America/New_York"', 'time_zone = "America/Chicago"'),
                         "test.toml").time_zone == "America/Chicago"


@pytest.mark.parametrize("value", ["0", "-1", "true", "1.5", '"1"'])
def test_r24_max_units_per_day_must_be_a_whole_number_of_at_least_one(value):
    assert refused(edited(line_of("max_units_per_day"), f"max_units_per_day = {value}")).field \
        == "parameters[0].max_units_per_day"


def test_r24_max_units_per_day_is_required():
    assert refused(edited(line_of("max_units_per_day") + "\n", "")).field == "parameters[0].max_units_per_day"
