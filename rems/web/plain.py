"""Plain words on the pharmacy and prescriber pages (issue 18.1, 18.2, 18.7): risk categories,
states, who must act on an unmet requirement and when it can be met at the earliest.

Presentation only: the domain's `Requirement` is unchanged; a met one is shown as met, with the
neutral code MET (docs/dashboard.md, "Codes"), never with its failure code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rems.domain.requirements import Requirement
from rems.schemas.common import MET
from rems.web.zones import shown

CATEGORY = {  # R5a
    "adult_frp": "Adult female of reproductive potential",
    "child_frp": "Female child of reproductive potential",
    "adult_fnrp": "Adult female not of reproductive potential",
    "child_fnrp": "Female child not of reproductive potential",
    "adult_male": "Adult male",
    "child_male": "Male child",
}
STATE = {  # the patient machine (R5, R12, R30) and the prescription machine (R19, R23, R33)
    "pending": "Pending enrollment", "active": "Active", "on_hold": "On hold (R12)",
    "interrupted": "Treatment interrupted", "interrupted_on_hold": "Interrupted, on hold (R12)",
    "pregnancy_stop": "Stopped: pregnancy (R30)", "discontinued": "Discontinued",
    "requested": "Requested, not authorized", "authorized": "Authorized", "confirmed": "Confirmed",
    "dispensed": "Dispensed", "expired": "Expired", "voided": "Voided",
    "issued": "Open", "used": "Used for a dispense",
}
# Who can satisfy a rule: the requirement's remedy is written for them.
_WHO = {
    **dict.fromkeys(("R1", "R2", "R3", "R5", "R6", "R7", "R8", "R9", "R10", "R11", "R12", "R15", "R19",
                     "R22", "R23", "R24", "R36"), "the prescriber"),
    "R20": "the patient (a parent or guardian for a child)",
    **dict.fromkeys(("R25", "R26", "R27", "R29"), "the pharmacy"),
    **dict.fromkeys(("R30", "R34", "R35"), "the program administrator"),
    "R28": "nobody: wait until the supply on hand is low enough",
    "R33": "nobody: this authorization was already dispensed",
}
CHECKLIST = {  # R29: each item of the counselling checklist, as the refusal names it
    "counselled": "The patient was counselled on the risks",
    "education_checklist_completed": "The education checklist is completed",
    "medication_guide_given": "The Medication Guide was handed over",
}


def category(name: str | None) -> str:
    return CATEGORY.get(name or "", (name or "none").replace("_", " "))


def state(name: str | None) -> str:
    return STATE.get(name or "", (name or "—").replace("_", " "))


@dataclass(frozen=True)
class Shown:
    """A requirement as the page shows it."""

    rule: str
    code: str  # MET when met (18.7), else the failure code
    met: bool
    message: str
    remedy: str
    who: str
    earliest: str  # when it can be met at the earliest, in the zone named; "" when nothing to say


def requirement(r: Requirement | dict[str, Any], zone: str | None = None) -> Shown:
    data = r.as_dict() if isinstance(r, Requirement) else r
    met = bool(data["met"])
    return Shown(data["rule"], MET if met else data["code"], met, _first(data["message"]), _first(data["remedy"]),
                 "" if met else _WHO.get(data["rule"], "the program administrator"),
                 "" if met else earliest(data.get("earliest"), zone))


_RAW = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")  # a state or category as the code spells it


def words(text: str) -> str:
    """Raw names in a message in plain words: "on_hold" → "on hold", "adult_frp" → the category."""
    return _RAW.sub(lambda m: CATEGORY.get(m.group(0), "").lower() or m.group(0).replace("_", " "), text)


def _first(text: str) -> str:
    """A sentence's first letter in capitals, the rest as written (PPAF, Medication Guide)."""
    text = words(text)
    return text[:1].upper() + text[1:]


def earliest(value: datetime | str | None, zone: str | None) -> str:
    """An instant in the zone named (T1); an event ("after a new negative test") as it is."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime) or (isinstance(value, str) and value[:4].isdigit() and "T" in value):
        return shown(value, zone)
    return str(value)


def unmet_first(reqs: Any, zone: str | None = None) -> tuple[list[Shown], list[Shown]]:
    """(unmet, met): what blocks first, the rest folded below."""
    every = [requirement(r, zone) for r in reqs]
    return [r for r in every if not r.met], [r for r in every if r.met]


def time_left(left: timedelta) -> str:
    """R27: what remains of a confirmation's window, in hours and minutes."""
    if left <= timedelta(0):
        return "expired"
    minutes = int(left.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
