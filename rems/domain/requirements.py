"""Requirements and refusals: every gate answers with reasons, each citing its rule id."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Requirement:
    rule: str  # "R9"
    code: str  # machine-readable, e.g. "R9_RECENT_TEST_MISSING"
    met: bool
    message: str
    remedy: str  # what would satisfy it

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def need(ok: bool, rule: str, code: str, message: str, remedy: str) -> Requirement:
    return Requirement(rule, code, bool(ok), message, remedy)


@dataclass(frozen=True)
class Decision:
    stage: str  # "authorize" | "confirm" | "dispense"
    requirements: tuple[Requirement, ...]

    @property
    def allowed(self) -> bool:
        return all(r.met for r in self.requirements)

    @property
    def failures(self) -> tuple[Requirement, ...]:
        return tuple(r for r in self.requirements if not r.met)

    def as_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "allowed": self.allowed,
                "failures": [r.as_dict() for r in self.failures],
                "requirements": [r.as_dict() for r in self.requirements]}
