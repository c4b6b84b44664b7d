"""Domain errors; entrypoints map them to HTTP status and exit codes in one place each."""

from __future__ import annotations

from rems.domain.requirements import Requirement


class DomainError(Exception):
    """Base class: something the user can fix, never a crash."""


class InvalidInput(DomainError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


class NotFound(DomainError):
    def __init__(self, entity: str, key: str) -> None:
        super().__init__(f"{entity} {key!r} not found")
        self.entity, self.key = entity, key


class Refused(DomainError):
    """A trigger or gate refused; carries every failing requirement with its rule id."""

    def __init__(self, action: str, failures: list[Requirement] | tuple[Requirement, ...]) -> None:
        codes = ", ".join(f.code for f in failures)
        super().__init__(f"{action} refused: {codes}")
        self.action, self.failures = action, tuple(failures)


class Conflict(DomainError):
    """The record changed under us (a concurrent actor won the race)."""
