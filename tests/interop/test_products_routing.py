"""NCPDP SCRIPT, FHIR $rems-etasu and CDS Hooks find the program by a product's NDC (issue 17 item 7),
read from the program files' [[products]] (here the 100-capsule bottles, which only the files list),
in any of the NDC's labelled forms; an NDC no program lists stays "not a REMS drug"."""

from __future__ import annotations

from fastapi.testclient import TestClient

from rems.interop.codes import NDC
from tests.interop.conftest import Population
from tests.interop.fhir_helpers import call, guidance, medication, patient, unmet
from tests.interop.ncpdp_helpers import message, send, text, texts
from tests.interop.test_cds_hooks import cards, hook, order

POMALYST_1MG_100 = "59572-501-00"    # POMALYST 1 mg, bottle of 100, as labelled (5-3-2)
POMALYST_3MG_100 = "59572050300"     # POMALYST 3 mg, bottle of 100, 11 digits (NCPDP's form)
REVLIMID_10MG_100 = "59572-0410-00"  # REVLIMID 10 mg, bottle of 100 (5-4-2): the Lenalidomide REMS


def test_ncpdp_initiation_finds_the_program_by_the_products_ndc(client: TestClient, p: Population) -> None:
    ncpdp_id = p.ncpdp_of(p.w.pharm)
    _, root = send(client, p.auth(p.w.pharm), message("REMSInitiationRequest", p.ready, ncpdp_id=ncpdp_id,
                                                      ndc=POMALYST_3MG_100))
    assert text(root, "Body/REMSInitiationResponse/Response/Open/REMSPatientID") == p.ready
    _, other = send(client, p.auth(p.w.pharm), message("REMSInitiationRequest", p.ready, ncpdp_id=ncpdp_id,
                                                       ndc=REVLIMID_10MG_100))
    closed = "Body/REMSInitiationResponse/Response/Closed/"
    assert texts(other, closed + "ReasonCode") == ["DRG"]  # found: lenalidomide, not the patient's program
    assert "enrolled in pomalidomide" in (text(other, closed + "Note") or "")


def test_fhir_etasu_finds_the_program_by_the_products_ndc(client: TestClient, p: Population) -> None:
    status, body = call(client, p.auth(p.w.doc), patient(p.w.male), medication((NDC, POMALYST_1MG_100)))
    assert status == 200 and guidance(body)["status"] == "success", unmet(body)
    status, body = call(client, p.auth(p.w.doc), patient(p.w.male), medication((NDC, "59572-0501-99")))
    assert status == 200 and guidance(body)["status"] == "failure"  # an NDC no program lists


def test_cds_order_sign_finds_the_program_by_the_products_ndc(client: TestClient, p: Population) -> None:
    assert cards(client, p, hook(p.ready, orders=[order((NDC, POMALYST_1MG_100))])) == []
    found = cards(client, p, hook(p.ready, orders=[order((NDC, "59572-0501-99"))]))
    assert len(found) == 1 and "unsupported medication code" in found[0]["summary"] + found[0].get("detail", "")
