"""Issue 17 item 5: the relaxations a program file declares in advance for degraded operation
(`[[relaxations]]`): named, capped, time-boxed. Nothing else can relax a gate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def _error(source: str, field: str, reason: str) -> Exception:
    from workflows.program import ProgramError  # program.py imports this module
    return ProgramError(source, field, reason)


def _positive(source: str, where: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _error(source, where + name, "must be a whole number > 0")
    return value


def parse_relaxations(source: str, raw: Any) -> tuple[RelaxationSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _error(source, "relaxations", "must be [[relaxations]] blocks")
    specs: list[RelaxationSpec] = []
    for index, block in enumerate(raw):
        where = f"relaxations[{index}]."
        if not isinstance(block, dict):
            raise _error(source, f"relaxations[{index}]", "must be a [[relaxations]] table")
        unknown = sorted(set(block) - _REQUIRED)
        if unknown:
            raise _error(source, where + unknown[0], "unknown field")
        missing = sorted(_REQUIRED - set(block))
        if missing:
            raise _error(source, where + missing[0], "required")
        name, description, waives = block["name"], block["description"], block["waives"]
        if not isinstance(name, str) or not name.strip() or not name.replace("_", "").isalnum():
            raise _error(source, where + "name", "required: letters, digits and underscores")
        if name == "enforcement_discretion" or any(s.name == name for s in specs):
            raise _error(source, where + "name", f"{name!r} is taken")
        if not isinstance(description, str) or not description.strip():
            raise _error(source, where + "description", "required text")
        if not isinstance(waives, list) or not waives or \
                not all(isinstance(w, str) and w.strip() for w in waives):
            raise _error(source, where + "waives", "a non-empty list of requirement codes or rule ids")
        specs.append(RelaxationSpec(name, description.strip(), frozenset(w.strip() for w in waives),
                                    _positive(source, where, "max_days_supply", block["max_days_supply"]),
                                    _positive(source, where, "max_hours", block["max_hours"])))
    return tuple(specs)
