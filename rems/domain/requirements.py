"""Requirements and refusals: every gate answers with reasons, each citing its rule id, and says
when at the earliest an unmet one can be met (issue 13: "why not, and when")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

# `earliest`: an aware instant, a text naming the event that must happen first, or None (nothing
# to wait for, or nothing the engine can foresee).
Earliest = datetime | str | None


@dataclass(frozen=True)
class Requirement:
    rule: str  # "R9"
    code: str  # machine-readable, e.g. "R9_RECENT_TEST_MISSING"
    met: bool
    message: str
    remedy: str  # what would satisfy it
    earliest: Earliest = None
    fda_code: str | None = None  # issue 17: the REMS requirement code (C128494) of its declaration

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (the audit trail stores it): `earliest` as ISO 8601 text."""
        earliest = self.earliest.isoformat() if isinstance(self.earliest, datetime) else self.earliest
        return {"rule": self.rule, "code": self.code, "met": self.met, "message": self.message,
                "remedy": self.remedy, "earliest": earliest, "fda_code": self.fda_code}


def need(ok: bool, rule: str, code: str, message: str, remedy: str, earliest: Earliest = None) -> Requirement:
    """A requirement; `earliest` is kept only while it is unmet."""
    return Requirement(rule, code, bool(ok), message, remedy, None if ok else earliest)


@dataclass(frozen=True)
class Waiver:
    """Why unmet requirements are allowed anyway (issue 17 items 4-5): "enforcement_discretion"
    (the program's lifecycle state) or the name of a relaxation the program file declares, and
    the codes of the unmet requirements it covers. Each one in a decision is audited and listed."""

    name: str
    codes: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "codes": list(self.codes)}


@dataclass(frozen=True)
class Decision:
    stage: str  # "authorize" | "confirm" | "dispense"
    requirements: tuple[Requirement, ...]
    waivers: tuple[Waiver, ...] = ()

    @property
    def allowed(self) -> bool:
        """Every requirement met, or every unmet one covered by a waiver."""
        covered = {code for w in self.waivers for code in w.codes}
        return all(r.met or r.code in covered for r in self.requirements)

    @property
    def failures(self) -> tuple[Requirement, ...]:
        """Every unmet requirement, waived or not (what the gate would refuse without waivers)."""
        return tuple(r for r in self.requirements if not r.met)

    def as_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "allowed": self.allowed,
                "failures": [r.as_dict() for r in self.failures],
                "requirements": [r.as_dict() for r in self.requirements],
                "would_refuse": [r.code for r in self.failures],
                "waivers": [w.as_dict() for w in self.waivers]}
