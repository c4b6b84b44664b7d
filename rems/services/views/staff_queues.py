"""The program staff's queues (issue 18 item 3): prescribers and pharmacies with their certification
in one program (R1, R25), searched, filtered and paged in SQL (rems/adapters/views.py, through
uow.views); the tokens issued to one holder.

A holder with no certification row in a program is "enrolled" there (rems/services/enrollment/certification.py);
the queue puts what waits for a decision first: enrolled, then suspended, then the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rems.adapters.uow import UnitOfWork
from rems.domain import model
from rems.domain.access import ApiToken
from rems.domain.errors import InvalidInput
from rems.services.context import Context

Kind = Literal["prescriber", "pharmacy"]
STATES = ("enrolled", "suspended", "lapsed", "certified", "revoked")  # the queue's order
PAGE_SIZE = 25
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class Slice:
    """Which part of a queue: a search (name, NPI / NCPDP id or record id), a state, a page."""

    search: str = ""
    state: str = ""
    page: int = 1
    size: int = PAGE_SIZE

    def __post_init__(self) -> None:
        if len(self.search) > 100:
            raise InvalidInput("q", "100 characters at most")
        if self.state and self.state not in STATES:
            raise InvalidInput("state", f"one of {', '.join(STATES)}")
        if not 1 <= self.page <= 100_000:
            raise InvalidInput("page", "a page number from 1")
        if not 1 <= self.size <= MAX_PAGE_SIZE:
            raise InvalidInput("size", f"from 1 to {MAX_PAGE_SIZE}")


@dataclass(frozen=True)
class QueuePage:
    rows: list[tuple[Any, model.Certification | None]]  # (Prescriber | Pharmacy, its certification)
    total: int  # rows matching the search and state, on every page
    page: int
    size: int
    by_state: dict[str, int]  # every holder of the kind in this program, whatever the search

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def certification_queue(uow: UnitOfWork, ctx: Context, kind: Kind, program_id: str,
                        part: Slice) -> QueuePage:
    """R1, R25: one page of the holders of `kind` and their certification in `program_id`."""
    uow.program(program_id)  # NotFound for a program that is not loaded
    rows, total, counts = uow.views.certification_queue(kind, program_id, part.search, part.state, STATES,
                                                        part.page, part.size)
    return QueuePage(rows, int(total), part.page, part.size,
                     {s: counts.get(s, 0) for s in STATES})


def tokens_of(uow: UnitOfWork, ctx: Context, kind: Kind, holder_id: str,
              limit: int = 50) -> Sequence[ApiToken]:
    """The tokens issued to one prescriber or pharmacy, newest first (their hashes stay inside)."""
    return uow.views.tokens_of(kind, holder_id, limit)
