"""One shared transitions.Machine per workflow, fired on any record through `fire`."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from transitions import Machine, MachineError

from workflows.definitions import WORKFLOWS, Workflow


class InvalidTrigger(Exception):
    def __init__(self, workflow: str, trigger: str, state: str) -> None:
        super().__init__(f"{workflow}: '{trigger}' is not allowed from state '{state}'")
        self.workflow, self.trigger, self.state = workflow, trigger, state


class ConditionsNotMet(Exception):
    def __init__(self, workflow: str, trigger: str, state: str, failed: list[str]) -> None:
        super().__init__(f"{workflow}: '{trigger}' from '{state}' refused: {', '.join(failed)}")
        self.workflow, self.trigger, self.state, self.failed = workflow, trigger, state, failed


class _Subject:
    """What the machine sees of a record: its state and the facts the engine computed."""

    def __init__(self, state: str, facts: Mapping[str, bool]) -> None:
        self.state = state
        self._facts = facts

    def __getattr__(self, name: str) -> Any:
        facts = self.__dict__.get("_facts", {})
        if name in facts:
            return lambda: bool(facts[name])
        raise AttributeError(name)


@cache
def machine(name: str) -> Machine:
    workflow = WORKFLOWS[name]
    # STYLE 2: shared, no per-record machines, no auto/queued/ignored triggers.
    return Machine(model=None, states=list(workflow.states), initial=workflow.initial,
                   transitions=[dict(t) for t in workflow.transitions], auto_transitions=False,
                   ignore_invalid_triggers=False, queued=False)


def _candidates(workflow: Workflow, trigger: str, state: str) -> list[list[str]]:
    """The condition lists of every transition `trigger` may take from `state`, in order."""
    return [t["conditions"] for t in workflow.transitions if t["trigger"] == trigger
            and state in (t["source"] if isinstance(t["source"], list) else [t["source"]])]


def conditions_of(workflow: Workflow, trigger: str, state: str) -> list[str]:
    names: list[str] = []
    for conditions in _candidates(workflow, trigger, state):
        names += [c for c in conditions if c not in names]
    return names


def fire(name: str, state: str, trigger: str, facts: Mapping[str, bool] | None = None) -> str:
    """Fire `trigger` from `state`; return the new state or raise with the failed conditions."""
    facts = facts or {}
    workflow = WORKFLOWS[name]
    if state not in workflow.states:
        raise InvalidTrigger(name, trigger, state)
    needed = conditions_of(workflow, trigger, state)
    missing = [c for c in needed if c not in facts]
    if missing:  # fail closed: a condition nobody computed is a programming error
        raise KeyError(f"{name}.{trigger}: facts not supplied: {missing}")
    subject = _Subject(state, facts)
    try:
        event = machine(name).events[trigger]
    except KeyError:
        raise InvalidTrigger(name, trigger, state) from None
    try:
        moved = event.trigger(subject)
    except MachineError:
        raise InvalidTrigger(name, trigger, state) from None
    if not moved:  # report the candidate transition that came closest, not every condition
        failed = min(([c for c in conditions if not facts[c]]
                      for conditions in _candidates(workflow, trigger, state)), key=len)
        raise ConditionsNotMet(name, trigger, state, failed)
    return subject.state


def triggers_from(name: str, state: str) -> list[str]:
    workflow = WORKFLOWS[name]
    return sorted({t["trigger"] for t in workflow.transitions if _candidates(workflow, t["trigger"], state)})
