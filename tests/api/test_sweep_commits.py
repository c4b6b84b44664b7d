"""Issue 15 item 9: under the API a service owns its commits as under the CLI and the workers.
The expiry sweep commits record by record and rolls back a record someone changed since its
query (R23, R27); through `POST /v1/admin/sweep` what it reports is what it stored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

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
