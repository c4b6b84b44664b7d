"""NCPDP SCRIPT: every response answering a request that carries a MessageID names it in
RelatesToMessageID, Error responses included (unreadable, refused, unauthenticated, too large)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from lxml import etree

from rems.interop.web import MAX_BODY
from tests.interop.conftest import Population
from tests.interop.ncpdp_helpers import message, send, text


def relates(root: etree._Element) -> str | None:
    return text(root, "Header/RelatesToMessageID")


@pytest.mark.parametrize(("edit", "why"), [
    ((b"REMSRequest>", b"NewRx>"), "not supported"),
    ((b"<REMSPatientID>", b"<OtherID>"), "REMSPatientID is required"),
    ((b"<Qualifier>ND</Qualifier>", b"<Qualifier>XX</Qualifier>"), "DrugCoded"),
    ((b"REMSRequest>", b"RxFill>"), "FillStatus is required"),
    ((b"</Body>", b"<REMSRequest/></Body>"), "exactly one transaction"),
])
def test_an_unreadable_transaction_is_an_error_relating_to_its_message(
        client: TestClient, p: Population, edit: tuple[bytes, bytes], why: str) -> None:
    body = message("REMSRequest", p.w.male).replace(*edit)
    if edit[0] == b"<REMSPatientID>":
        body = body.replace(b"</REMSPatientID>", b"</OtherID>")
    status, root = send(client, p.auth(p.w.pharm), body)
    assert status == 400 and why in (text(root, "Body/Error/Description") or "")
    assert relates(root) == "msg-1"
    assert text(root, "Header/To") == "sender"  # back to who sent it


def test_a_message_that_is_not_well_formed_still_relates_when_its_id_is_readable(
        client: TestClient, p: Population) -> None:
    cut = message("REMSRequest", p.w.male)[:-40]
    status, root = send(client, p.auth(p.w.pharm), cut)
    assert status == 400 and relates(root) == "msg-1"
    doctype = b'<!DOCTYPE m [<!ENTITY x "y">]><Message><Header><MessageID>m-7</MessageID></Header></Message>'
    status, root = send(client, p.auth(p.w.pharm), doctype)
    assert status == 400 and relates(root) == "m-7"  # read without resolving anything


def test_no_message_id_means_no_relates_to(client: TestClient, p: Population) -> None:
    for body in (b"", b"<NewRx/>", message("REMSRequest", p.w.male).replace(b"<MessageID>msg-1</MessageID>", b"")):
        status, root = send(client, p.auth(p.w.pharm), body)
        assert status == 400 and relates(root) is None


def test_refused_callers_get_an_error_relating_to_their_message(client: TestClient, p: Population) -> None:
    status, root = send(client, {}, message("REMSRequest", p.w.male))
    assert status == 401 and relates(root) == "msg-1"
    status, root = send(client, p.auth(p.w.male), message("REMSRequest", p.w.male))
    assert status == 403 and relates(root) == "msg-1"
    rxfill = message("RxFill", p.w.male, p.ncpdp_of(p.w.pharm), case=p.w.number)
    status, root = send(client, p.auth(p.w.doc), rxfill)
    assert status == 403 and relates(root) == "msg-1"  # RxFill is the pharmacy's


def test_gate_and_lookup_errors_relate_to_their_message(client: TestClient, p: Population) -> None:
    ncpdp = p.ncpdp_of(p.w.pharm)
    status, root = send(client, p.auth(p.w.pharm), message("RxFill", p.w.male, ncpdp, case="NOPE-1"))
    assert status == 404 and relates(root) == "msg-1"
    status, root = send(client, p.auth(p.w.pharm), message("RxFill", p.w.male, ncpdp, case=p.w.number,
                                                           counselled=True))
    assert status == 409 and relates(root) == "msg-1"  # no confirmation yet (R26)


def test_a_message_over_the_limit_still_relates(client: TestClient, p: Population) -> None:
    body = message("REMSRequest", p.w.male).replace(b"</Body>", b"<!--" + b"x" * MAX_BODY + b"--></Body>")
    status, root = send(client, p.auth(p.w.pharm), body)
    assert status == 413 and relates(root) == "msg-1"


def test_every_success_answer_relates_to_its_request_and_goes_back_to_its_sender(
        client: TestClient, p: Population) -> None:
    """Open, Approved (with its confirmation), Denied, and the Status of a recorded RxFill."""
    ncpdp = p.ncpdp_of(p.w.pharm)
    sent = {"REMSInitiationResponse": message("REMSInitiationRequest", p.ready, ncpdp),
            "REMSResponse": message("REMSRequest", p.ready, ncpdp, case=p.ready_number)}
    for answer, body in sent.items():
        status, root = send(client, p.auth(p.w.pharm), body.replace(b"msg-1", f"id-{answer}".encode()))
        assert status == 200 and root.find(f"{{*}}Body/{{*}}{answer}") is not None
        assert relates(root) == f"id-{answer}" and text(root, "Header/To") == ncpdp
    status, root = send(client, p.auth(p.w.doc), message("REMSRequest", p.w.frp))  # denied: R9
    assert status == 200 and text(root, "Body/REMSResponse/Response/Denied/DeniedReasonCode")
    assert relates(root) == "msg-1"
    fill = message("RxFill", p.ready, ncpdp, case=p.ready_number, counselled=True)
    status, root = send(client, p.auth(p.w.pharm), fill.replace(b"msg-1", b"fill-9"))
    assert status == 200 and text(root, "Body/Status/Code") == "000" and relates(root) == "fill-9"


def test_an_unrecorded_fill_status_is_an_error_relating_to_its_message(client: TestClient, p: Population) -> None:
    body = message("RxFill", p.w.male, p.ncpdp_of(p.w.pharm), case=p.w.number, fill_status="NotDispensed")
    status, root = send(client, p.auth(p.w.pharm), body)
    assert status == 422 and relates(root) == "msg-1"
