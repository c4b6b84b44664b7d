"""Risk categories: R5a (six categories), R6 (child under 18), R7 (reproductive potential), R8.

Every `on` is a date on the patient's local calendar (T1: rems.domain.schedule.today)."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from rems.domain.calendar import add_months, add_years
from workflows.program import Parameters

__all__ = ["CHILD_CATEGORIES", "FRP_CATEGORIES", "add_months", "adult_on", "age_years", "category_of",
           "is_child", "next_category_change", "reproductive_potential"]

FRP_CATEGORIES = frozenset({"adult_frp", "child_frp"})
CHILD_CATEGORIES = frozenset({"child_frp", "child_fnrp", "child_male"})


class Profile(Protocol):
    sex: str
    birth_date: date
    menarche: bool
    hysterectomy: bool
    bilateral_oophorectomy: bool
    postmenopausal_since: date | None


def age_years(birth_date: date, on: date) -> int:
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - int(before_birthday)


def adult_on(birth_date: date, params: Parameters) -> date:
    """The day a patient stops being a child (R6); a 29 Feb birth turns 18 on 1 Mar (T1)."""
    return add_years(birth_date, params.child_age_years)


def is_child(profile: Profile, on: date, params: Parameters) -> bool:
    return on < adult_on(profile.birth_date, params)


def reproductive_potential(profile: Profile, on: date, params: Parameters) -> bool:
    """R7: only surgery or 24 consecutive months of natural menopause exempt; infertility does not.
    A girl before menarche is a female child not of reproductive potential (R5a, R8)."""
    if profile.sex != "female" or profile.hysterectomy or profile.bilateral_oophorectomy:
        return False
    since = profile.postmenopausal_since
    if since is not None and add_months(since, params.postmenopause_months) <= on:
        return False
    return profile.menarche or not is_child(profile, on, params)


def category_of(profile: Profile, on: date, params: Parameters) -> str:
    """R5a: the one category that applies on `on`; a change of it needs a new PPAF (R8)."""
    age = "child" if is_child(profile, on, params) else "adult"
    if profile.sex == "male":
        return f"{age}_male"
    return f"{age}_{'frp' if reproductive_potential(profile, on, params) else 'fnrp'}"


def next_category_change(profile: Profile, on: date, params: Parameters) -> date | None:
    """The next day the category changes by itself (18th birthday, 24 months postmenopausal)."""
    candidates = []
    if is_child(profile, on, params):
        candidates.append(adult_on(profile.birth_date, params))
    if profile.postmenopausal_since is not None:
        end = add_months(profile.postmenopausal_since, params.postmenopause_months)
        if end > on:
            candidates.append(end)
    now_category = category_of(profile, on, params)
    changes = [d for d in sorted(candidates) if category_of(profile, d, params) != now_category]
    return changes[0] if changes else None
