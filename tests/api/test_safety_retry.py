"""Issue 13 item 9 through the API: a safety action whose commit loses to a concurrent change is run
again inside the request (R3); the caller gets the applied answer, never an unapplied 409, and its
Idempotency-Key stores that answer once. Other changes still answer 409 "retry"."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from rems.adapters.orm import idempotency_keys
from rems.bootstrap import App
from rems.domain.model import AuditEntry, Prescriber
from tests.api.world import ADMIN, World


@contextmanager
def _first_commit_loses(app: App, times: int = 1) -> Iterator[list[int]]:
    """The next `times` commits fail as when another transaction changed the row first."""
    lost: list[int] = []

    def lose(_session: Session) -> None:
        if len(lost) < times:
            lost.append(1)
            raise StaleDataError("changed by a concurrent transaction")

    event.listen(app.sessions, "before_commit", lose)
    try:
        yield lost
    finally:
        event.remove(app.sessions, "before_commit", lose)


BODY = {"program_id": "pomalidomide"}  # R1/R3: certification is per program


def _suspensions(w: World, prescriber_id: str) -> int:
    return w.count(AuditEntry, AuditEntry.entity_id == prescriber_id, AuditEntry.trigger == "suspend")


def test_a_suspension_that_loses_its_commit_is_applied_and_answered_once_r3(
        client: TestClient, w: World, rems_app: App) -> None:
    headers = {**w.auth(ADMIN), "Idempotency-Key": "suspend-1"}
    with _first_commit_loses(rems_app, times=2) as lost:
        response = client.post(f"/v1/admin/prescribers/{w.doc}/suspend", headers=headers, json=BODY)
    assert len(lost) == 2
    assert response.status_code == 200, response.text
    assert w.certification_state("prescriber", w.doc) == "suspended" and _suspensions(w, w.doc) == 1
    replay = client.post(f"/v1/admin/prescribers/{w.doc}/suspend", headers=headers, json=BODY)
    assert replay.status_code == 200 and replay.json() == response.json()
    assert replay.headers["idempotent-replayed"] == "true"
    with Session(rems_app.engine) as session:
        keys = session.scalar(select(func.count()).select_from(idempotency_keys)
                              .where(idempotency_keys.c.key == "suspend-1"))
    assert keys == 1 and _suspensions(w, w.doc) == 1


def test_a_change_that_is_not_a_safety_action_still_answers_409(
        client: TestClient, w: World, rems_app: App) -> None:
    """Enrolling is not retried by the engine: the caller is told to retry, and nothing is written."""
    body = {"name": "Dr Raced", "npi": "1999999992", "attested": True, "education_reviewed": True}
    with _first_commit_loses(rems_app):
        response = client.post("/v1/admin/prescribers", headers=w.auth(ADMIN), json=body)
    assert response.status_code == 409
    assert w.count(Prescriber, Prescriber.npi == "1999999992") == 0
