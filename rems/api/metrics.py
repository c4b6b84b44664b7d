"""/metrics (Prometheus) and /readyz beside /healthz, and one JSON access line per request
(issue 15 items 3 and 4; docs/operations.md).

/metrics serves this process's counters (latency by route template, refusals by rule and code,
anonymous refusals) and figures read from the database at each scrape (outbox depth by state,
parked reminders, notification outcomes as stored, the audit chain's length). It wants
`Authorization: Bearer $REMS_METRICS_TOKEN` when that is set, and is closed in production
without it. /readyz answers 200 when the database is reachable and its schema at head, else 503
naming what is wrong. Neither needs an API token; neither holds a patient's data."""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rems.adapters.database import reading
from rems.adapters.orm import audit_log, notifications
from rems.http.auth import application, refuse
from rems.http.errors import ApiError
from rems.logs import request_id
from rems.metrics import REQUEST_SECONDS
from rems.readiness import database_problems

access = logging.getLogger("rems.access")
WAITING, OUTCOMES = ("pending", "sending", "failed"), ("sent", "parked")


def route_of(scope: Scope) -> str:
    """The route's template (`/v1/pharmacy/check/{number}`), never the raw path: bounded labels."""
    return getattr(scope.get("route"), "path", None) or "unmatched"


class Observe:
    """Time each request by route template, bind its request id to the log lines it causes."""

    def __init__(self, app: ASGIApp, access_log: bool = True) -> None:
        self.app, self.access_log = app, access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Not reset afterwards: uvicorn's own line about a failed request (written after the
        # response, in the same task) carries the id too; each request runs in a task of its own.
        request_id.set(scope.get("state", {}).get("request_id"))
        started, status = time.perf_counter(), [500]

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            elapsed, route = time.perf_counter() - started, route_of(scope)
            REQUEST_SECONDS.labels(scope["method"], route, str(status[0])).observe(elapsed)
            if self.access_log:
                access.info("%s %s %d %.1f ms", scope["method"], route, status[0], elapsed * 1000)


class Store(Collector):
    """Figures as stored, read at each scrape in one short read-only transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        n = notifications.c
        try:
            with reading(self.engine).connect() as connection:
                states = {s: c for s, c in connection.execute(select(n.state, func.count()).group_by(n.state))}
                chain = connection.execute(select(func.max(audit_log.c.seq))).scalar() or 0
        except Exception:
            yield GaugeMetricFamily("rems_store_up", "1 when the database answered this scrape", value=0)
            return
        yield GaugeMetricFamily("rems_store_up", "1 when the database answered this scrape", value=1)
        depth = GaugeMetricFamily("rems_outbox_depth", "Notifications waiting, by state", labels=["state"])
        for state in WAITING:
            depth.add_metric([state], states.get(state, 0))
        yield depth
        yield GaugeMetricFamily("rems_reminders_parked", "Reminders parked after their last attempt "
                                "(act on them: `rems notifications parked`)", value=states.get("parked", 0))
        outcomes = GaugeMetricFamily("rems_notification_outcomes", "Send outcomes as stored in the outbox",
                                     labels=["outcome"])
        for outcome in OUTCOMES:
            outcomes.add_metric([outcome], states.get(outcome, 0))
        yield outcomes
        yield GaugeMetricFamily("rems_audit_chain_length", "Entries in the audit hash chain", value=chain)


def _process_registry() -> CollectorRegistry:
    """This process's counters; with PROMETHEUS_MULTIPROC_DIR (several workers), all of theirs."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def _guard(request: Request) -> None:
    settings = application(request).settings
    if settings.metrics_token is None:
        if settings.env == "production":
            raise ApiError(403, "forbidden", "metrics are closed: set REMS_METRICS_TOKEN to serve them")
        return
    given = request.headers.get("authorization", "")
    expected = f"Bearer {settings.metrics_token.get_secret_value()}"
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise refuse(request, "anonymous", "anonymous", 401, "AUTH_METRICS_TOKEN",
                     "/metrics wants Authorization: Bearer $REMS_METRICS_TOKEN", "send the metrics token")


def install(api: FastAPI) -> None:
    @api.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        _guard(request)
        store = CollectorRegistry(auto_describe=False)
        store.register(Store(application(request).engine))
        body = generate_latest(_process_registry()) + generate_latest(store)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    @api.get("/readyz", include_in_schema=False)
    def readyz(request: Request) -> JSONResponse:
        """Readiness: the database reachable and its schema at head; 503 naming what is wrong."""
        problems = database_problems(application(request).engine)
        body: dict[str, Any] = {"status": "unavailable", "problems": problems} if problems else {"status": "ready"}
        return JSONResponse(body, status_code=503 if problems else 200,
                            headers={"Retry-After": "5"} if problems else None)

    api.add_middleware(Observe, access_log=api.state.rems.settings.access_log)
