"""Issue 15 item 9: under the API a service owns its commits as under the CLI and the workers.
The expiry sweep commits record by record and rolls back a record someone changed since its
query (R23, R27); through `POST /v1/admin/sweep` what it reports is what it stored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, insert, null, select

from rems.adapters.orm import idempotency_keys
from rems.bootstrap import App
from rems.domain.model import Prescription
from tests.api.conftest import Clock
from tests.api.world import ADMIN, World


@pytest.fixture
def changed_under_the_sweep(rems_app: App) -> Iterator[list[str]]:
    """The prescription ids put here are voided just before the sweep locks them, as a prescriber
    acting at that moment would (on the sweep's own connection: SQLite has one writer at a time)."""
    victims: list[str] = []

    def before(connection: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if victims and statement.lstrip().startswith("SELECT") and "FROM prescriptions" in statement \
                and tuple(parameters or ())[:1] == (victims[0],):
            cursor.connection.execute("UPDATE prescriptions SET state = 'void', version = version + 1 "
                                      "WHERE id = ?", (victims.pop(0),))

    event.listen(rems_app.engine, "before_cursor_execute", before)
    yield victims
    event.remove(rems_app.engine, "before_cursor_execute", before)


def test_the_sweep_through_the_api_stores_what_it_reports_when_a_record_is_skipped(
        client: TestClient, w: World, clock: Clock, changed_under_the_sweep: list[str]) -> None:
    ours = []
    for _ in range(3):  # after the cast's two, in this order (the sweep goes by request time)
        clock.advance(minutes=1)
        ours.append(w.authorization(w.patient(w.doc, "adult_male"), w.doc)[0])
    clock.advance(days=31)  # R23: every authorization is past its 30 days
    w.token("admin", ADMIN)
    changed_under_the_sweep.append(ours[1])

    response = client.post("/v1/admin/sweep", headers=w.auth(ADMIN))

    assert response.status_code == 200, response.text
    assert not changed_under_the_sweep  # the middle one was changed under the sweep, and skipped
    reported = response.json()["authorizations_expired"]
    stored = w.count(Prescription, Prescription.state == "expired")  # type: ignore[arg-type]
    assert reported == stored == 4
    assert [w.state_of(Prescription, rx) for rx in ours] == ["expired", "authorized", "expired"]


def test_a_sweep_retried_with_its_key_replays_the_first_counts_and_changes_nothing(
        client: TestClient, w: World, clock: Clock) -> None:
    clock.advance(days=31)
    w.token("admin", ADMIN)
    headers = {**w.auth(ADMIN), "Idempotency-Key": "sweep-1"}
    first = client.post("/v1/admin/sweep", headers=headers)
    assert first.status_code == 200 and first.json()["authorizations_expired"] == 2
    clock.advance(minutes=1)
    w.authorization(w.patient(w.doc, "adult_male"), w.doc)  # new work a real second sweep would do
    clock.advance(days=31)
    w.token("admin", ADMIN)
    retry = client.post("/v1/admin/sweep", headers={**headers, **w.auth(ADMIN)})
    assert retry.status_code == 200 and retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert w.count(Prescription, Prescription.state == "expired") == 2  # type: ignore[arg-type]
    with w.app.engine.connect() as connection:
        stored = connection.execute(select(idempotency_keys.c.status, idempotency_keys.c.response)).one()
    assert (stored.status, stored.response) == (200, first.json())


def test_a_key_whose_effect_committed_before_its_response_was_stored_is_409_in_progress(
        client: TestClient, w: World, clock: Clock) -> None:
    """A process that died between the effect's commit (which claimed the key) and storing the
    response: the retry must not run the effect again."""
    t = idempotency_keys.c
    clock.advance(days=31)  # something to expire: a sweep without an effect claims no key
    w.token("admin", ADMIN)
    assert client.post("/v1/admin/sweep", headers={**w.auth(ADMIN), "Idempotency-Key": "sweep-1"}).status_code == 200
    with w.app.engine.begin() as connection:  # the same request under another key, claimed only
        first = connection.execute(select(t.actor, t.request, t.body_hash, t.created_at)).one()
        connection.execute(insert(idempotency_keys).values(
            **first._asdict(), key="sweep-2", status=None, response=null()))
    response = client.post("/v1/admin/sweep", headers={**w.auth(ADMIN), "Idempotency-Key": "sweep-2"})
    assert response.status_code == 409 and response.headers["retry-after"] == "1"
    assert response.json()["field"] == "Idempotency-Key"
