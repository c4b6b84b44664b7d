"""The administrator's operations pages: the reminder outbox with its parked notifications (issue 4)
and the compliance reports with their plots (issue 6), calling those issues' services."""
# No `from __future__ import annotations`: FastAPI resolves the annotations at run time.

import base64
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from rems.domain.errors import DomainError, InvalidInput
from rems.services import notifications, reports
from rems.services.uow import Context, UnitOfWork
from rems.web.pages import Page, page, posted

router = APIRouter(prefix="/web/admin", include_in_schema=False)
Viewer = Annotated[Page, Depends(page("admin"))]
Poster = Annotated[Page, Depends(posted("admin"))]
LISTED = 100
DEFAULT_DAYS = 30  # the reports page opens on the last month; any period can be asked for


def _outbox(uow: UnitOfWork, ctx: Context, state: str | None) -> dict[str, Any]:
    return {"rows": notifications.listing(uow, ctx, state, None, LISTED),
            "parked": notifications.parked(uow, ctx, LISTED)}


def _outbox_context(pg: Page, state: str) -> dict[str, Any]:
    return {"state_options": [("", "every state")] + [(s, s) for s in notifications.STATES],
            "values": {"state": state}}


@router.get("/outbox")
def outbox(pg: Viewer, state: str = "") -> Response:
    context = _outbox_context(pg, state)
    try:
        context.update(pg.run(_outbox, state or None))
    except DomainError as error:
        context.update(pg.run(_outbox, None))
        return pg.failed("admin/outbox.html", context, error)
    return pg.render("admin/outbox.html", context)


@router.post("/outbox/{notification_id}/retry")
def retry(notification_id: str, pg: Poster) -> Response:
    """A parked reminder goes back to pending with fresh attempts (audited)."""
    try:
        pg.run(notifications.retry, notification_id)
    except DomainError as error:
        context = {**_outbox_context(pg, ""), **pg.run(_outbox, None)}
        return pg.failed("admin/outbox.html", context, error)
    return pg.redirect("/web/admin/outbox#parked")


def _day(value: str, name: str, default: date) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(name, "a date like 2026-03-01") from None


def _reports(uow: UnitOfWork, ctx: Context, period: reports.Period) -> dict[str, Any]:
    series = reports.activity_series(uow, ctx, period)
    plots = {kind: base64.b64encode(reports.plot_png(series, kind)).decode("ascii") for kind in reports.KINDS}
    return {"summary": reports.period_summary(uow, ctx, period),
            "prescribers": reports.prescriber_compliance(uow, ctx, period),
            "pharmacies": reports.pharmacy_compliance(uow, ctx, period), "plots": plots}


@router.get("/reports")
def reports_page(pg: Viewer, start: str = "", end: str = "") -> Response:
    today = pg.ctx.now.date()
    context: dict[str, Any] = {"values": {"start": start, "end": end}}
    try:
        first = _day(start.strip(), "start", today - timedelta(days=DEFAULT_DAYS))
        last = _day(end.strip(), "end", today + timedelta(days=1))
        context["values"] = {"start": first.isoformat(), "end": last.isoformat()}
        context.update(pg.run(_reports, reports.Period.of(first, last)))
    except DomainError as error:
        return pg.failed("admin/reports.html", context, error)
    return pg.render("admin/reports.html", context)
