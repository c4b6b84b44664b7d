"""The pharmacy check's hot path (issue 14 item 2): two SELECTs for the gate's records, the token
from the cache, and a body in DecisionOut's shape rendered once (R25-R27: same answer as before)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from rems.domain.model import Pharmacy
from rems.schemas.common import DecisionOut
from rems.services.commands import PharmacyRequest
from rems.services.dispensing import prescriptions
from rems.services.enrollment import certification
from tests.api.world import PROGRAM, World

P = "/v1/pharmacy"


@contextmanager
def selects(w: World) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)
    event.listen(w.app.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(w.app.engine, "before_cursor_execute", note)


def _as_the_service_decides(w: World, number: str, pharmacy: str) -> dict[str, Any]:
    with w.app.uow(write=False) as uow:
        from rems.services.context import Context
        decision = prescriptions.check(uow, Context(f"pharmacy:{pharmacy}", w.clock()),
                                       PharmacyRequest(number=number, pharmacy_id=pharmacy))
    return DecisionOut.of(decision).model_dump(mode="json")


def test_a_check_reads_the_gates_records_in_two_statements(client: TestClient, w: World) -> None:
    url = f"{P}/authorizations/{w.number}/check"
    assert client.get(url, headers=w.auth(w.pharm)).status_code == 200  # the token is now cached
    with selects(w) as seen:
        response = client.get(url, headers=w.auth(w.pharm))
    assert response.status_code == 200 and response.json()["allowed"]
    assert len(seen) == 2, seen


def test_the_check_answers_what_the_gate_decides_in_decision_outs_shape(client: TestClient, w: World) -> None:
    url = f"{P}/authorizations/{w.number}/check"
    allowed = client.get(url, headers=w.auth(w.pharm))
    assert allowed.headers["content-type"] == "application/json"
    assert allowed.json() == _as_the_service_decides(w, w.number, w.pharm)
    assert list(allowed.json()) == list(DecisionOut.model_fields)
    w.call(certification.change_certification, "pharmacy", w.pharm, "suspend", PROGRAM)  # R25
    refused = client.get(url, headers=w.auth(w.pharm)).json()
    assert not refused["allowed"] and "R25_PHARMACY_SUSPENDED" in {f["code"] for f in refused["failures"]}
    assert refused == _as_the_service_decides(w, w.number, w.pharm)
    assert DecisionOut.model_validate(refused)


def test_a_number_of_another_patient_or_nobody_is_404(client: TestClient, w: World) -> None:
    other = client.get(f"{P}/authorizations/{w.number}/check", headers=w.auth(w.pharm),
                       params={"patient_id": w.frp})
    assert other.status_code == 404
    assert client.get(f"{P}/authorizations/PAUTH-NONE/check", headers=w.auth(w.pharm)).status_code == 404
    assert w.count(Pharmacy) == 2


def test_each_request_has_its_own_id_and_a_callers_safe_id_is_kept(client: TestClient, w: World) -> None:
    url = f"{P}/authorizations/{w.number}/check"
    made = {client.get(url, headers=w.auth(w.pharm)).headers["x-request-id"] for _ in range(3)}
    assert len(made) == 3 and all(re.fullmatch(r"api-[0-9a-f]{16,}", rid) for rid in made), made
    given = client.get(url, headers={**w.auth(w.pharm), "X-Request-ID": "counter-7:abc"})
    assert given.headers["x-request-id"] == "counter-7:abc"
    unsafe = client.get(url, headers={**w.auth(w.pharm), "X-Request-ID": "no spaces <b>"})
    assert re.fullmatch(r"api-[0-9a-f]{16,}", unsafe.headers["x-request-id"])
