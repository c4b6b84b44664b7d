"""The store's side of running a safety use case again (issue 13 item 9): which errors mean a
concurrent transaction won, the session's "an attempt is running" mark, what a rollback would
lose, and the rollback itself. When to run again is rems/services/dispensing/retry.py's decision;
`Attempts` is the port rems/services/ports/gate.py gives it (`uow.attempts`, issue 19 item 1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from rems.adapters.database import lost_a_race
from rems.domain.errors import Conflict

if TYPE_CHECKING:
    from rems.adapters.uow import UnitOfWork

_RUNNING = "rems.retry.running"  # session.info: an attempt is running (nested calls run once)


def lost_race(error: BaseException) -> bool:
    """A concurrent transaction won (whatever layer saw it first): running again is the remedy."""
    if lost_a_race(error):
        return True
    cause = error.__cause__
    return isinstance(error, Conflict) and (isinstance(cause, StaleDataError | IntegrityError)
                                            or lost_a_race(cause))


class Attempts:
    """ports.gate.Attempts on the SQL unit of work's session (`uow.attempts`)."""

    __slots__ = ("_uow",)

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    lost_race = staticmethod(lost_race)

    def running(self) -> bool:
        return bool(self._uow.session.info.get(_RUNNING))

    def start(self) -> None:
        self._uow.session.info[_RUNNING] = True

    def stop(self) -> None:
        self._uow.session.info.pop(_RUNNING, None)

    def pending(self) -> bool:
        session = self._uow.session
        return bool(session.new or session.dirty or session.deleted)

    def rollback(self) -> None:
        self._uow.session.rollback()
