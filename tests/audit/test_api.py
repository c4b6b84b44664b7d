"""The reports and the chain's verification over HTTP: the administrator only, JSON or CSV, bad
input a 422 naming the field, every refused access in the chain (issue 6)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from rems.services import reports
from rems.services.context import Context
from tests.api.world import ADMIN, World

PERIOD = {"start": "2026-03-01T00:00:00Z", "end": "2026-04-01T00:00:00Z"}
API = "/v1/admin"


def test_the_administrator_gets_the_period_report_as_json_and_csv(client: TestClient, w: World) -> None:
    answer = client.get(f"{API}/reports/period", params=PERIOD, headers=w.auth(ADMIN))
    assert answer.status_code == 200, answer.text
    with w.app.uow() as uow:
        expected = reports.period_summary(uow, Context("x", w.clock()), reports.Period.of(
            w.clock().replace(day=1, hour=0), w.clock().replace(month=4, day=1, hour=0)))
    body = answer.json()
    assert (body["authorizations_issued"], body["refusals"]) == (expected.authorizations_issued,
                                                                 expected.refusals) == (2, 0)
    as_csv = client.get(f"{API}/reports/period", params={**PERIOD, "format": "csv"}, headers=w.auth(ADMIN))
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.text.splitlines()[0] == "metric,key,value"
    assert "authorizations_issued,all,2" in as_csv.text.splitlines()


def test_compliance_history_and_plots(client: TestClient, w: World) -> None:
    admin = w.auth(ADMIN)
    rows = client.get(f"{API}/reports/prescribers", params=PERIOD, headers=admin).json()
    assert {r["prescriber_id"]: r["authorizations_issued"] for r in rows} == {w.doc: 1, w.other_doc: 1}
    rows = client.get(f"{API}/reports/pharmacies", params={**PERIOD, "format": "csv"}, headers=admin)
    assert rows.text.splitlines()[0].startswith("pharmacy_id,state,dispenses,refusals")
    history = client.get(f"{API}/reports/patients/{w.male}/history", headers=admin).json()
    assert [e["trigger"] for e in history["entries"]] == ["enroll", "request", "authorize"]
    assert client.get(f"{API}/reports/patients/pat_missing/history", headers=admin).status_code == 404
    png = client.get(f"{API}/reports/plots/refusals", params=PERIOD, headers=admin)
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")


def test_other_roles_are_refused_and_the_refusal_is_in_the_verified_chain(client: TestClient,
                                                                          w: World) -> None:
    refused = client.get(f"{API}/reports/period", params=PERIOD,
                         headers={**w.auth(w.pharm), "X-Request-ID": "req-report-1"})
    assert refused.status_code == 403
    assert w.refusals(w.pharm) == ["AUTH_ROLE_FORBIDDEN"]
    with w.app.uow() as uow:
        entry, = uow.audit_trails.of("api", w.pharm)
        request_id, seq = entry.request_id, entry.seq
    assert request_id == "req-report-1" and seq is not None
    verdict = client.get(f"{API}/audit/verify", headers=w.auth(ADMIN)).json()
    assert verdict["ok"] is True and verdict["head"]["seq"] >= seq
    wrong = client.get(f"{API}/audit/verify", params={"head_seq": 1, "head_hash": "a" * 64},
                       headers=w.auth(ADMIN)).json()
    assert (wrong["ok"], wrong["finding"]["kind"], wrong["finding"]["seq"]) == (False, "rewritten", 1)


def test_bad_periods_and_heads_are_422_naming_the_field(client: TestClient, w: World) -> None:
    admin = w.auth(ADMIN)
    for params, field in (({"start": "2026-04-01", "end": "2026-03-01"}, "end"),
                          ({"start": "1066-01-01", "end": "2026-03-01"}, "start"),
                          ({"start": "2000-01-01", "end": "2026-03-01"}, "end")):
        answer = client.get(f"{API}/reports/period", params=params, headers=admin)
        assert answer.status_code == 422 and answer.json()["field"] == field, answer.text
    for naive, field in (({"start": "2026-03-01T00:00:00", "end": "2026-04-01"}, "start"),
                         ({"start": "2026-03-01", "end": "2026-04-01T20:00"}, "end")):
        answer = client.get(f"{API}/reports/period", params=naive, headers=admin)  # T1: no offset, refused
        assert answer.status_code == 422 and answer.json()["field"] == field, answer.text
    local = client.get(f"{API}/reports/period", params={"start": "2026-03-01T00:00:00-05:00",
                                                          "end": "2026-04-01"}, headers=admin)
    assert local.status_code == 200 and local.json()["start"].startswith("2026-03-01T05:00"), local.text
    half = client.get(f"{API}/audit/verify", params={"head_seq": 3}, headers=admin)
    assert half.status_code == 422 and half.json()["field"] == "head_hash"
