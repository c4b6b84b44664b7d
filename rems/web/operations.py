"""The administrator's operations pages: the reminder outbox with its parked notifications (issue 4),
the compliance reports with their plots (issue 6) and the assessment figures, exportable as CSV
(issue 18 item 3), calling those issues' services."""
# No `from __future__ import annotations`: FastAPI resolves the annotations at run time.

import base64
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.responses import PlainTextResponse, Response

from rems.domain.errors import DomainError, InvalidInput
from rems.services import reports
from rems.services.context import Context
from rems.services.ports import UnitOfWork
from rems.services.reminders import notifications
from rems.services.reports import assessments
from rems.web.pages import HEADERS, Page, page, posted

router = APIRouter(prefix="/web/admin", include_in_schema=False)
Viewer = Annotated[Page, Depends(page("admin"))]
Poster = Annotated[Page, Depends(posted("admin"))]
LISTED = 100
DEFAULT_DAYS = 30  # the reports page opens on the last month; any period can be asked for


def _page(value: str, name: str) -> int:
    try:
        number = int(value or "1")
    except ValueError:
        number = 0
    if not 1 <= number <= 100_000:
        raise InvalidInput(name, "a page number from 1")
    return number


def _outbox(uow: UnitOfWork, ctx: Context, state: str | None, recipient: str | None = None,
            page: int = 1, parked_page: int = 1) -> dict[str, Any]:
    """One page of each list, in SQL; one row more than shown says whether a next page exists."""
    rows = notifications.listing(uow, ctx, state, recipient, LISTED + 1, (page - 1) * LISTED)
    parked = notifications.parked(uow, ctx, LISTED + 1, (parked_page - 1) * LISTED)
    return {"rows": rows[:LISTED], "more": len(rows) > LISTED, "parked": parked[:LISTED],
            "more_parked": len(parked) > LISTED, "page": page, "parked_page": parked_page}


def _outbox_context(pg: Page, state: str, recipient: str = "") -> dict[str, Any]:
    return {"state_options": [("", "every state")] + [(s, s) for s in notifications.STATES],
            "values": {"state": state, "recipient": recipient}}


@router.get("/outbox")
def outbox(pg: Viewer, state: str = "", recipient: str = "", page: str = "1", parked_page: str = "1") -> Response:
    """The reminder outbox, filtered by state and recipient (e.g. `pharmacy:phm_…`), paged."""
    context = _outbox_context(pg, state, recipient.strip()[:80])
    try:
        context.update(pg.run(_outbox, state or None, recipient.strip() or None, _page(page, "page"),
                              _page(parked_page, "parked_page")))
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
    context: dict[str, Any] = {"values": {"start": start, "end": end}}
    try:
        period = _period(pg, start, end)
        context["values"] = {"start": period.start.date().isoformat(), "end": period.end.date().isoformat()}
        context.update(pg.run(_reports, period))
    except DomainError as error:
        return pg.failed("admin/reports.html", context, error)
    return pg.render("admin/reports.html", context)


def _period(pg: Page, start: str, end: str) -> reports.Period:
    today = pg.ctx.now.date()
    first = _day(start.strip(), "start", today - timedelta(days=DEFAULT_DAYS))
    last = _day(end.strip(), "end", today + timedelta(days=1))
    return reports.Period.of(first, last)


def _assessment(uow: UnitOfWork, ctx: Context, period: reports.Period) -> reports.Assessment:
    return reports.assessment(uow, ctx, period, assessments.RELAXATIONS_USED)


@router.get("/assessment")
def assessment_page(pg: Viewer, start: str = "", end: str = "") -> Response:
    """The REMS assessment's figures for a period, with plots and a CSV of the same numbers."""
    context: dict[str, Any] = {"values": {"start": start, "end": end}}
    try:
        period = _period(pg, start, end)
        context["values"] = {"start": period.start.date().isoformat(), "end": period.end.date().isoformat()}
        found = pg.run(_assessment, period)
    except DomainError as error:
        return pg.failed("admin/assessment.html", context, error)
    plots = {by: base64.b64encode(reports.assessment_png(found, by)).decode("ascii")
             for by in ("category", "site") if found.dispenses}  # no dispense: nothing to draw
    context.update(a=found, plots=plots)
    return pg.render("admin/assessment.html", context)


@router.get("/assessment.csv")
def assessment_csv(pg: Viewer, start: str = "", end: str = "") -> Response:
    try:
        period = _period(pg, start, end)
        found = pg.run(_assessment, period)
    except DomainError as error:
        return pg.failed("admin/assessment.html", {"values": {"start": start, "end": end}}, error)
    name = f"rems-assessment-{period.start.date().isoformat()}-{period.end.date().isoformat()}.csv"
    return PlainTextResponse(reports.assessment_csv(found), media_type="text/csv", headers={
        **HEADERS, "Content-Disposition": f'attachment; filename="{name}"'})
