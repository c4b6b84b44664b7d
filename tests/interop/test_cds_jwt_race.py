"""CDS Hooks `jti` replay under a race (STYLE 6): the same JWT presented by two requests at the same
moment on PostgreSQL is accepted once; the primary key of cds_jwt_ids decides, on every replica."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select
from starlette.requests import Request

from rems.adapters import orm
from rems.asgi import create_app
from rems.bootstrap import App
from rems.interop.cds_admit import accept
from rems.interop.cds_jwt import Claims
from rems.interop.web import Denied
from tests.api.conftest import Clock

RACERS = 4


def test_one_jwt_presented_at_once_by_several_requests_is_accepted_once(pg_app: App) -> None:
    clock = Clock()
    api = create_app(pg_app, clock)
    claims = Claims("https://ehr.example.org", "ehr-client-1", "jti-raced", clock() + timedelta(minutes=5), None)
    start = threading.Barrier(RACERS, timeout=10)
    outcomes: list[Denied | None] = []

    def present() -> None:
        request = Request({"type": "http", "method": "GET", "path": "/cds-services", "headers": [],
                           "query_string": b"", "app": api, "state": {"request_id": "race"}})
        start.wait()
        outcomes.append(accept(request, claims, None, clock()))

    threads = [threading.Thread(target=present, name=f"racer-{n}") for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(o is None for o in outcomes) == [False] * (RACERS - 1) + [True]
    assert all(isinstance(o, Denied) and o.status == 401 for o in outcomes if o is not None)
    with pg_app.uow(write=False) as uow:
        accepted = uow.session.execute(select(func.count()).select_from(orm.audit_log).where(
            orm.audit_log.c.entity == "cds_jwt")).scalar_one()
    assert accepted == 1  # one acceptance audited, the others audited as refusals
