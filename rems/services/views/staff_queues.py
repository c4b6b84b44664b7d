"""The program staff's queues (issue 18 item 3): prescribers and pharmacies with their certification
in one program (R1, R25), searched, filtered and paged in SQL; the tokens issued to one holder.

A holder with no certification row in a program is "enrolled" there (rems/services/enrollment/certification.py);
the queue puts what waits for a decision first: enrolled, then suspended, then the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import and_, case, func, or_, select

from rems.adapters import orm
from rems.adapters.uow import UnitOfWork
from rems.domain import model
from rems.domain.access import ApiToken
from rems.domain.errors import InvalidInput
from rems.services.context import Context

Kind = Literal["prescriber", "pharmacy"]
STATES = ("enrolled", "suspended", "lapsed", "certified", "revoked")  # the queue's order
PAGE_SIZE = 25
MAX_PAGE_SIZE = 200
_TABLES = {"prescriber": (orm.prescribers, model.Prescriber, "npi"),
           "pharmacy": (orm.pharmacies, model.Pharmacy, "ncpdp_id")}


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


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def certification_queue(uow: UnitOfWork, ctx: Context, kind: Kind, program_id: str,
                        part: Slice) -> QueuePage:
    """R1, R25: one page of the holders of `kind` and their certification in `program_id`."""
    uow.program(program_id)  # NotFound for a program that is not loaded
    table, entity, identifier = _TABLES[kind]
    c = orm.certifications.c
    joined = table.outerjoin(orm.certifications, and_(
        c.holder_kind == kind, c.holder_id == table.c.id, c.program_id == program_id))
    state = func.coalesce(c.state, "enrolled")
    where: list[Any] = []
    if text := part.search.strip():
        where.append(or_(func.lower(table.c.name).like(_like(text.lower()), escape="\\"),
                         table.c[identifier].like(_like(text), escape="\\"), table.c.id == text))
    if part.state:
        where.append(state == part.state)
    total = uow.session.scalar(select(func.count()).select_from(joined).where(*where)) or 0
    order = case({s: n for n, s in enumerate(STATES)}, value=state, else_=len(STATES))
    query: Any = (select(entity, model.Certification).select_from(joined).where(*where)
             .order_by(order, table.c.enrolled_at, table.c.id)
             .limit(part.size).offset((part.page - 1) * part.size))
    rows = [(holder, cert) for holder, cert in uow.session.execute(query)]
    counts = {str(s): int(n) for s, n in uow.session.execute(
        select(state, func.count()).select_from(joined).group_by(state))}
    return QueuePage(rows, int(total), part.page, part.size,
                     {s: counts.get(s, 0) for s in STATES})


def tokens_of(uow: UnitOfWork, ctx: Context, kind: Kind, holder_id: str,
              limit: int = 50) -> Sequence[ApiToken]:
    """The tokens issued to one prescriber or pharmacy, newest first (their hashes stay inside)."""
    t = orm.api_tokens.c
    return uow.session.scalars(select(ApiToken).where(t.role == kind, t.actor_id == holder_id)
                               .order_by(t.created_at.desc(), t.id).limit(limit)).all()
