"""Issue 17 item 4: a program's lifecycle as the program file declares it (`[[lifecycle]]`).

active -> closed_to_new_enrollment -> enforcement_discretion -> eliminated, forward only (a state
may be skipped). Each block is an FDA action: the state, the date it takes effect (midnight in
the program's zone, T3) and the reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

STATES = ("active", "closed_to_new_enrollment", "enforcement_discretion", "eliminated")
_FIELDS = {"state", "effective_from", "reason"}


@dataclass(frozen=True)
class LifecycleEntry:
    state: str
    effective_from: date
    reason: str


def rank(state: str) -> int:
    """The position of `state` on the one-way path (0 = active)."""
    return STATES.index(state)


def error(source: str, field: str, reason: str) -> Exception:
    from workflows.program import ProgramError  # program.py imports this module
    return ProgramError(source, field, reason)


def tables(source: str, raw: Any, key: str, fields: set[str]) -> list[tuple[str, dict[str, Any]]]:
    """The `[[key]]` blocks of a file, each with its field prefix (`key[i].`); an unknown field
    is refused, named."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise error(source, key, f"must be [[{key}]] blocks")
    found = []
    for index, block in enumerate(raw):
        if not isinstance(block, dict):
            raise error(source, f"{key}[{index}]", f"must be a [[{key}]] table")
        unknown = sorted(set(block) - fields)
        if unknown:
            raise error(source, f"{key}[{index}].{unknown[0]}", "unknown field")
        found.append((f"{key}[{index}].", block))
    return found


def parse_lifecycle(source: str, raw: Any) -> tuple[LifecycleEntry, ...]:
    """The `[[lifecycle]]` blocks, in order; later blocks must be later and further along."""
    entries: list[LifecycleEntry] = []
    for where, block in tables(source, raw, "lifecycle", _FIELDS):
        state, day, reason = block.get("state"), block.get("effective_from"), block.get("reason")
        if state not in STATES:
            raise error(source, where + "state", f"must be one of {', '.join(STATES)}")
        if not isinstance(day, date) or isinstance(day, datetime):
            raise error(source, where + "effective_from", "must be a date (YYYY-MM-DD)")
        if not isinstance(reason, str) or not reason.strip():
            raise error(source, where + "reason", "required text (the FDA action it records)")
        if entries and day <= entries[-1].effective_from:
            raise error(source, where + "effective_from", "must be later than the block before")
        if entries and rank(state) <= rank(entries[-1].state):
            raise error(source, where + "state",
                         f"must come after {entries[-1].state} (the lifecycle only moves forward)")
        entries.append(LifecycleEntry(state, day, reason.strip()))
    return tuple(entries)
