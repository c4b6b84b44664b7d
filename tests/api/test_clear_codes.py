"""Issue 18.7: a met requirement carries the neutral code MET in the API, its failure code moved
to `failure_code`; an unmet one carries its failure code in both. The domain is unchanged: the
gate's Requirement keeps its failure code (the audit trail and the refusals read it)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from rems.services.commands import PharmacyRequest, parse
from rems.services.dispensing import prescriptions
from tests.api.world import World


def _shape(items: list[dict[str, object]]) -> None:
    for r in items:
        failure = str(r["failure_code"])
        assert failure.startswith(f"{r['rule']}_"), r  # the rule's own failure code, e.g. R1_...
        assert r["code"] == ("MET" if r["met"] else failure), r


def test_a_met_requirement_shows_met_and_its_failure_code_apart(client: TestClient, w: World) -> None:
    check = client.get(f"/v1/pharmacy/authorizations/{w.number}/check", headers=w.auth(w.pharm)).json()
    assert check["allowed"]
    _shape(check["requirements"])
    met = {r["failure_code"]: r["code"] for r in check["requirements"]}
    assert met["R1_PRESCRIBER_NOT_CERTIFIED"] == "MET"  # the example
    assert "R1_PRESCRIBER_NOT_CERTIFIED" not in {r["code"] for r in check["requirements"]}

    status = client.get(f"/v1/prescriber/patients/{w.frp}", headers=w.auth(w.doc)).json()
    _shape(status["gates"])
    unmet = [g for g in status["gates"] if not g["met"]]
    assert unmet and all(g["code"] == g["failure_code"] != "MET" for g in unmet)  # R9: no tests yet

    decision = w.call(prescriptions.check, parse(PharmacyRequest, number=w.number, pharmacy_id=w.pharm))
    assert "R1_PRESCRIBER_NOT_CERTIFIED" in {r.code for r in decision.requirements if r.met}  # domain unchanged
