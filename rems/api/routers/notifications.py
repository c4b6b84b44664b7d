"""The reminder outbox for the program administrator (issue 4): list, parked, retry a parked one."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse

from rems.api.calls import Calls, reader, writer
from rems.domain.model import Notification
from rems.http.errors import problems
from rems.schemas.notifications import NotificationOut
from rems.services.reminders import notifications

router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=problems(401, 403, 422))
Reader = Annotated[Calls, Depends(reader("admin"))]
Writer = Annotated[Calls, Depends(writer("admin"))]
State = Literal["pending", "sending", "sent", "failed", "parked"]
Limit = Annotated[int, Query(ge=1, le=500, description="At most this many, newest first")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Skip this many")]


def _many(found: list[Notification]) -> list[NotificationOut]:
    return [NotificationOut.of(n) for n in found]


@router.get("/notifications", response_model=list[NotificationOut],
            summary="The reminder outbox, newest first, by state and recipient")
def list_notifications(
        calls: Reader,
        state: Annotated[State | None, Query(description="Only notifications in this state")] = None,
        recipient: Annotated[str | None, Query(min_length=1, max_length=80,
                                               description="Only this recipient, e.g. patient:pat_…")] = None,
        limit: Limit = 100, offset: Offset = 0) -> list[NotificationOut]:
    return calls.read(_many, notifications.listing, state, recipient, limit, offset)


@router.get("/notifications/parked", response_model=list[NotificationOut],
            summary="Notifications parked after their last failed attempt: never dropped, act on them")
def parked_notifications(calls: Reader, limit: Limit = 100, offset: Offset = 0) -> list[NotificationOut]:
    return calls.read(_many, notifications.parked, limit, offset)


@router.post("/notification-retries/{notification_id}", response_model=NotificationOut,
             responses=problems(404, 409), summary="Send a parked notification again (audited)")
def retry_notification(
        notification_id: Annotated[str, Path(min_length=1, max_length=40, description="Notification id")],
        calls: Writer) -> JSONResponse:
    """Back to pending with a fresh set of attempts; the relay hands it to a worker. 409 unless parked."""
    return calls.change(NotificationOut.of, notifications.retry, notification_id)
