"""Reproductive facts (R7, R8, R35): stated in full, plausible, and one-way once recorded."""

from __future__ import annotations

from datetime import date

from rems.domain.errors import InvalidInput
from rems.domain.model import Patient
from rems.services.commands import ReproductiveFacts
from workflows.program import Parameters

FACTS = ("menarche", "hysterectomy", "bilateral_oophorectomy", "postmenopausal_since")
ONE_WAY = ("menarche", "hysterectomy", "bilateral_oophorectomy")  # R35: once recorded, recorded


def _birthday(birth: date, years: int) -> date:
    """The anniversary; a 29 February birth has it on 1 March (T1)."""
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:
        return date(birth.year + years, 3, 1)


def plausible(patient: Patient, facts: ReproductiveFacts, today: date, params: Parameters) -> None:
    """R35: refuse facts that cannot be true, naming the field; `today` is the patient's local date."""
    if patient.sex != "female" and (facts.menarche or facts.hysterectomy
                                    or facts.bilateral_oophorectomy or facts.postmenopausal_since):
        raise InvalidInput("facts", "reproductive facts apply to female patients only")
    since = facts.postmenopausal_since
    if since is not None and since > today:
        raise InvalidInput("facts.postmenopausal_since", "cannot be in the future")
    floor = params.postmenopause_min_age_years
    if since is not None and since < _birthday(patient.birth_date, floor):
        raise InvalidInput("facts.postmenopausal_since", f"is before the patient's {floor}th birthday")


def apply_facts(patient: Patient, facts: ReproductiveFacts | None, today: date, params: Parameters,
                one_way: bool) -> None:
    """Set the stated facts on the patient. A female's facts must all be stated (R35: nothing
    defaults to "no"); a male's cannot apply and may be left out. With `one_way`, a recorded
    menarche, hysterectomy or oophorectomy cannot be unset (only the administrator corrects)."""
    if facts is None:
        if patient.sex == "female":
            raise InvalidInput("facts", "state every reproductive fact of a female patient: menarche, "
                                        "hysterectomy, bilateral_oophorectomy, postmenopausal_since (R35)")
        return
    plausible(patient, facts, today, params)
    if one_way:
        for name in ONE_WAY:
            if getattr(patient, name) and not getattr(facts, name):
                raise InvalidInput(f"facts.{name}", "was recorded and cannot be unset; only the program "
                                                    "administrator corrects a fact, with a reason (R35)")
    for name in FACTS:
        setattr(patient, name, getattr(facts, name))
