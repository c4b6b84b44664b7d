"""Issue 17 item 5: the relaxations a program file declares in advance for degraded operation
(`[[relaxations]]`): named, capped, time-boxed. Nothing else can relax a gate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workflows.lifecycle import error, tables

_REQUIRED = {"name", "description", "waives", "max_days_supply", "max_hours"}


@dataclass(frozen=True)
class RelaxationSpec:
    name: str
    description: str
    waives: frozenset[str]  # requirement codes (e.g. R26_...) or rule ids (e.g. R19)
    max_days_supply: int  # a prescription for more days is never relaxed
    max_hours: int  # an activation ends at most this long after it began

    def covers(self, rule: str, code: str) -> bool:
        return code in self.waives or rule in self.waives


def _positive(source: str, where: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise error(source, where + name, "must be a whole number > 0")
    return value


def parse_relaxations(source: str, raw: Any) -> tuple[RelaxationSpec, ...]:
    specs: list[RelaxationSpec] = []
    for where, block in tables(source, raw, "relaxations", _REQUIRED):
        missing = sorted(_REQUIRED - set(block))
        if missing:
            raise error(source, where + missing[0], "required")
        name, description, waives = block["name"], block["description"], block["waives"]
        if not isinstance(name, str) or not name.isascii() or not name.replace("_", "").isalnum() \
                or len(name) > 80:
            raise error(source, where + "name", "required: up to 80 letters, digits and underscores")
        if name == "enforcement_discretion" or any(s.name == name for s in specs):
            raise error(source, where + "name", f"{name!r} is taken")
        if not isinstance(description, str) or not description.strip():
            raise error(source, where + "description", "required text")
        if not isinstance(waives, list) or not waives or \
                not all(isinstance(w, str) and w.strip() for w in waives):
            raise error(source, where + "waives", "a non-empty list of requirement codes or rule ids")
        specs.append(RelaxationSpec(name, description.strip(), frozenset(w.strip() for w in waives),
                                    _positive(source, where, "max_days_supply", block["max_days_supply"]),
                                    _positive(source, where, "max_hours", block["max_hours"])))
    return tuple(specs)
