"""Risk categories (R5a), childhood (R6), reproductive potential (R7) and self-changing categories (R8)."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from rems.domain.categories import (
    add_months,
    adult_on,
    age_years,
    category_of,
    is_child,
    next_category_change,
    reproductive_potential,
)
from rems.domain.model import Patient
from tests.unit.builders import params, patient

ON = date(2026, 3, 2)


def woman(**changes):
    return patient("adult_frp", birth_date=date(1975, 6, 1), **changes)


# R6: a child is under 18; the 18th birthday is the first adult day


@pytest.mark.parametrize(("on", "child"), [(date(2026, 3, 2), True), (date(2026, 3, 3), False)])
def test_r6_a_patient_is_a_child_until_the_18th_birthday(on, child):
    boy = patient("child_male", birth_date=date(2008, 3, 3))
    assert is_child(boy, on, params()) is child
    assert category_of(boy, on, params()) == ("child_male" if child else "adult_male")


@pytest.mark.parametrize(("on", "category"), [
    (date(2026, 2, 28), "child_male"),
    (date(2026, 3, 1), "adult_male"),
])
def test_r6_a_29_february_birth_turns_18_on_1_march_in_a_non_leap_year(on, category):
    leapling = patient("child_male", birth_date=date(2008, 2, 29))
    assert adult_on(leapling.birth_date, params()) == date(2026, 3, 1)
    assert category_of(leapling, on, params()) == category


def test_r6_age_in_years_agrees_with_the_adult_day():
    assert age_years(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_years(date(2008, 2, 29), date(2026, 3, 1)) == 18
    assert age_years(date(2008, 3, 3), date(2026, 3, 2)) == 17


# R7: only surgery or 24 consecutive months of natural menopause exempt


@pytest.mark.parametrize("surgery", ["hysterectomy", "bilateral_oophorectomy"])
def test_r7_hysterectomy_or_bilateral_oophorectomy_makes_a_woman_fnrp(surgery):
    assert category_of(woman(), ON, params()) == "adult_frp"
    assert category_of(woman(**{surgery: True}), ON, params()) == "adult_fnrp"


@pytest.mark.parametrize(("since", "category"), [
    (date(2024, 4, 2), "adult_frp"),  # 23 months before ON
    (date(2024, 3, 3), "adult_frp"),  # 24 months less a day
    (date(2024, 3, 2), "adult_fnrp"),  # exactly 24 months
])
def test_r7_natural_menopause_exempts_only_after_24_consecutive_months(since, category):
    assert category_of(woman(postmenopausal_since=since), ON, params()) == category


def test_r7_infertility_is_not_a_field_and_does_not_exempt():
    assert "infertile" not in {f.name for f in dataclasses.fields(Patient)}
    with pytest.raises(TypeError):
        dataclasses.replace(woman(), infertile=True)
    assert reproductive_potential(woman(), ON, params()) is True


def test_r7_males_never_have_reproductive_potential_in_the_frp_sense():
    assert reproductive_potential(patient("adult_male"), ON, params()) is False


# R5a, R8: girls before and after menarche


@pytest.mark.parametrize(("menarche", "category"), [(False, "child_fnrp"), (True, "child_frp")])
def test_r5a_a_girl_is_child_fnrp_before_menarche_and_child_frp_after(menarche, category):
    girl = patient("child_fnrp", birth_date=date(2014, 1, 1), menarche=menarche)
    assert category_of(girl, ON, params()) == category


def test_r7_a_girl_without_menarche_becomes_adult_frp_at_18():
    girl = patient("child_fnrp", birth_date=date(2008, 3, 3), menarche=False)
    assert category_of(girl, date(2026, 3, 3), params()) == "adult_frp"


@pytest.mark.parametrize("category", ["child_male", "child_frp", "child_fnrp"])
def test_r8_next_category_change_of_a_child_is_the_18th_birthday(category):
    child = patient(category, birth_date=date(2010, 7, 15))
    assert next_category_change(child, ON, params()) == date(2028, 7, 15)


def test_r8_next_category_change_of_a_child_born_29_february_is_1_march():
    leapling = patient("child_male", birth_date=date(2008, 2, 29))
    assert next_category_change(leapling, date(2026, 2, 1), params()) == date(2026, 3, 1)


def test_r8_next_category_change_is_the_end_of_24_months_of_menopause():
    assert next_category_change(woman(postmenopausal_since=date(2025, 3, 2)), ON,
                                params()) == date(2027, 3, 2)


@pytest.mark.parametrize("category", ["adult_male", "adult_frp", "adult_fnrp"])
def test_r8_no_next_category_change_for_an_adult_without_menopause(category):
    assert next_category_change(patient(category), ON, params()) is None


def test_r8_no_next_category_change_once_24_months_of_menopause_have_passed():
    assert next_category_change(woman(postmenopausal_since=date(2020, 1, 1)), ON, params()) is None


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2024, 1, 31), 1, date(2024, 3, 1)),
    (date(2025, 1, 31), 1, date(2025, 3, 1)),
    (date(2024, 11, 15), 2, date(2025, 1, 15)),
    (date(2024, 2, 29), 24, date(2026, 3, 1)),
    (date(2024, 2, 29), 48, date(2028, 2, 29)),
    (date(2024, 12, 31), -1, date(2024, 12, 1)),
])
def test_t1_add_months_rolls_a_missing_day_to_the_first_of_the_next_month(day, months, expected):
    """T1: one convention for every rule (was: clamp to the month's end; REMS_RULES.md now says a
    29 February anniversary falls on 1 March in every rule)."""
    assert add_months(day, months) == expected


@pytest.mark.parametrize(("on", "category"), [(date(2026, 2, 28), "adult_frp"), (date(2026, 3, 1), "adult_fnrp")])
def test_r7_t1_24_months_from_29_february_end_on_1_march_like_a_birthday(on, category):
    assert category_of(woman(postmenopausal_since=date(2024, 2, 29)), on, params()) == category
