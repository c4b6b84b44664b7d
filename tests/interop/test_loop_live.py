"""Closing the loop end to end (issue 16 item 5): a real `celery worker` process on a real
redis-server runs the beat's sweep; the sweep expires an unused confirmation (R27), which queues
the Communication and the RxFill NotDispensed in the expiry's transaction, and the worker's relay
and send tasks post them to the prescriber's system on loopback, once each."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from celery import Celery
from lxml import etree

from rems.bootstrap import App, bootstrap
from rems.settings import Settings
from tests.interop.loop_receiver import Receiver, receiver  # noqa: F401 (the fixture)
from tests.interop.ncpdp_helpers import SCHEMA, text
from tests.interop.test_loop import ISS, USER, queued
from tests.service.builders import Scenario
from tests.workers.conftest import LIVE, Worker, redis_url, wait_for  # noqa: F401 (the fixture)


def loop_env(url: str, base: str, prescriber_id: str) -> dict[str, str]:
    return {"REMS_DATABASE_URL": url, "REMS_CDS_ISSUERS": json.dumps({ISS: f"{ISS}/jwks.json"}),
            "REMS_CDS_PRACTITIONERS": json.dumps({ISS: {USER: prescriber_id}}),
            "REMS_LOOP_FHIR_ENDPOINTS": json.dumps({ISS: f"{base}/fhir"}), "REMS_LOOP_NCPDP_URL": f"{base}/ncpdp"}


@pytest.fixture
def database(tmp_path: Path) -> Iterator[App]:
    app = bootstrap(Settings(env="test", database_url=f"sqlite:///{tmp_path / 'rems.db'}"))
    app.migrate()
    yield app
    app.engine.dispose()


def test_the_sweep_in_a_live_worker_tells_the_prescribers_system_of_an_expired_confirmation(
        database: App, receiver: Receiver, redis_url: str, tmp_path: Path) -> None:  # noqa: F811
    hours = database.programs["pomalidomide"].at(datetime.now(UTC)).confirmation_valid_hours  # R27
    s = Scenario(database, datetime.now(UTC) - timedelta(hours=hours, minutes=5)).certified_prescriber()
    s.certified_pharmacy().enrolled("adult_male").ready()
    rx = s.authorized()
    assert rx.number is not None
    confirmation = s.confirm(rx.number)  # issued hours + 5 min ago: expired now, unused
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("REMS_")}, **LIVE, "REMS_ENV": "test",
           "REMS_BROKER_URL": redis_url, **loop_env(database.settings.database_url, receiver.base, s.prescriber_id)}
    worker, broker = Worker(env, tmp_path / "worker.log"), Celery("rems-test", broker=redis_url, set_as_current=False)
    worker.start()
    try:
        broker.send_task("rems.sweep", queue="rems")
        wait_for(lambda: len(receiver.requests) >= 2, what="both messages at the prescriber's system")
        wait_for(lambda: {r["state"] for r in queued(database).values()} == {"sent"}, what="the rows sent")
    finally:
        worker.stop()
        broker.close()
    [communication] = receiver.to("/fhir/Communication")
    body = json.loads(communication["body"])
    assert body["resourceType"] == "Communication" and body["recipient"][0]["reference"] == USER
    assert confirmation.number in body["payload"][0]["contentString"]
    [rxfill] = receiver.to("/ncpdp")
    root = etree.fromstring(rxfill["body"])
    SCHEMA.assertValid(root)
    assert text(root, "Body/RxFill/REMSCaseID") == rx.number
    assert len(receiver.requests) == 2  # once each
