"""NCPDP SCRIPT REMS transactions on the seeded population; every response validated by the XSD."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from rems.domain.model import Dispense, Prescription
from rems.services.enrollment import certification
from tests.interop.conftest import Population
from tests.interop.ncpdp_helpers import URL, message, send, text, texts


def test_initiation_is_open_with_the_rems_id_for_an_enrolled_patient(client: TestClient, p: Population) -> None:
    status, root = send(client, p.auth(p.w.pharm),
                        message("REMSInitiationRequest", p.ready, ncpdp_id=p.ncpdp_of(p.w.pharm)))
    assert status == 200
    assert text(root, "Body/REMSInitiationResponse/Response/Open/REMSPatientID") == p.ready
    assert text(root, "Header/RelatesToMessageID") == "msg-1"


def test_initiation_is_closed_naming_who_is_not_enrolled_or_certified(client: TestClient, p: Population) -> None:
    closed = "Body/REMSInitiationResponse/Response/Closed/ReasonCode"
    _, root = send(client, p.auth(p.lapsed_pharm),
                   message("REMSInitiationRequest", p.ready, ncpdp_id=p.ncpdp_of(p.lapsed_pharm)))
    assert texts(root, closed) == ["PHC"]  # R25
    _, root = send(client, p.auth(p.w.doc), message("REMSInitiationRequest", "pat_unknown"))
    assert texts(root, closed) == ["PTE"]  # R5
    _, root = send(client, p.auth(p.w.doc), message("REMSInitiationRequest", p.w.male, ndc="00000000000"))
    assert texts(root, closed) == ["DRG"]
    suspended = p.w.prescriber()
    patient = p.w.patient(suspended, "adult_male")
    p.w.call(certification.change_certification, "prescriber", suspended, "suspend", "pomalidomide")
    _, root = send(client, p.auth(suspended), message("REMSInitiationRequest", patient, rxnorm="1369713", ndc=None))
    assert texts(root, closed) == ["PRC"]  # R3
    assert "R3_PRESCRIBER_SUSPENDED" in (text(root, "Body/REMSInitiationResponse/Response/Closed/Note") or "")


def test_request_is_approved_with_number_and_r23_period_and_confirms(client: TestClient, p: Population) -> None:
    ncpdp_id = p.ncpdp_of(p.w.pharm)
    status, root = send(client, p.auth(p.w.pharm),
                        message("REMSRequest", p.ready, ncpdp_id=ncpdp_id, case=p.ready_number))
    approved = "Body/REMSResponse/Response/Approved/"
    assert status == 200 and text(root, approved + "REMSAuthorizationNumber") == p.ready_number
    # R23 (T2): to the end of day 7 on the patient's calendar (New York), the test's date being day 1
    collected = (p.clock() - timedelta(hours=1)).astimezone(ZoneInfo("America/New_York")).date()
    end = datetime.combine(collected + timedelta(days=7), time(0), tzinfo=ZoneInfo("America/New_York")) \
        - timedelta(microseconds=1)
    end = end.astimezone(UTC)
    assert text(root, approved + "AuthorizationPeriod/EndDate/DateTime") == end.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert text(root, approved + "AuthorizationPeriod/StartDate/DateTime") == "2026-03-02T09:00:00Z"
    assert "confirmation C-" in (text(root, approved + "Note") or "")
    assert p.w.state_of(Prescription, p.ready_rx) == "confirmed"  # R26 through the service
    _, again = send(client, p.auth(p.w.pharm), message("REMSRequest", p.ready, ncpdp_id=ncpdp_id))
    assert text(again, approved + "Note") == text(root, approved + "Note")  # the same confirmation


def test_request_is_denied_for_a_missing_pregnancy_test_as_a_lab_result(client: TestClient, p: Population) -> None:
    status, root = send(client, p.auth(p.w.doc), message("REMSRequest", p.w.frp, npi=p.npi_of(p.w.doc)))
    assert status == 200
    reasons = texts(root, "Body/REMSResponse/Response/Denied/DeniedReasonCode")
    assert "LAB" in reasons and "SRV" in reasons
    note = text(root, "Body/REMSResponse/Response/Denied/Note") or ""
    assert "R9_EARLY_TEST_MISSING" in note and "R9_RECENT_TEST_MISSING" in note


def test_request_is_denied_for_a_positive_pregnancy_test(client: TestClient, p: Population) -> None:
    p.positive_test(p.ready)
    _, root = send(client, p.auth(p.w.doc), message("REMSRequest", p.ready, case=p.ready_number))
    assert "LAB" in texts(root, "Body/REMSResponse/Response/Denied/DeniedReasonCode")
    assert "R30_" in (text(root, "Body/REMSResponse/Response/Denied/Note") or "")
    assert p.w.count(Dispense) == 0


def test_request_is_denied_for_an_uncertified_pharmacy_an_unknown_case_or_another_drug(client: TestClient, p: Population) -> None:
    _, root = send(client, p.auth(p.lapsed_pharm), message("REMSRequest", p.ready, case=p.ready_number))
    assert texts(root, "Body/REMSResponse/Response/Denied/DeniedReasonCode") == ["PHC"]
    assert p.w.state_of(Prescription, p.ready_rx) == "authorized"  # no confirmation for it
    _, root = send(client, p.auth(p.w.pharm), message("REMSRequest", p.ready, case="POM-0000000000"))
    assert texts(root, "Body/REMSResponse/Response/Denied/DeniedReasonCode") == ["AUT"]
    lenalidomide = message("REMSRequest", p.w.male, ndc="59572-410-28")  # REVLIMID 10 mg
    _, root = send(client, p.auth(p.w.doc), lenalidomide)
    assert texts(root, "Body/REMSResponse/Response/Denied/DeniedReasonCode") == ["DRG"]


def test_rxfill_records_the_dispense_through_every_gate(client: TestClient, p: Population) -> None:
    ncpdp_id = p.ncpdp_of(p.w.pharm)
    status, root = send(client, p.auth(p.w.pharm), message("RxFill", p.w.male, ncpdp_id=ncpdp_id,
                                                           case=p.w.number, counselled=True))
    assert status == 409 and "R26_CONFIRMATION_INVALID" in (text(root, "Body/Error/Description") or "")
    send(client, p.auth(p.w.pharm), message("REMSRequest", p.w.male, ncpdp_id=ncpdp_id, case=p.w.number))
    status, root = send(client, p.auth(p.w.pharm), message("RxFill", p.w.male, ncpdp_id=ncpdp_id, case=p.w.number))
    assert status == 409 and "R29_COUNSELLING_INCOMPLETE" in (text(root, "Body/Error/Description") or "")
    status, root = send(client, p.auth(p.w.pharm), message("RxFill", p.w.male, ncpdp_id=ncpdp_id,
                                                           case=p.w.number, counselled=True))
    assert status == 200 and text(root, "Body/Status/Code") == "000"
    assert p.w.count(Dispense) == 1 and p.w.state_of(Prescription, p.w.rx) == "dispensed"
    with p.w.app.uow() as uow:  # audited by the services, as the pharmacy
        trail = [(a.trigger, a.actor) for a in uow.audit_trails.of("prescription", p.w.rx)]
    assert trail[-2:] == [("confirm", f"pharmacy:{p.w.pharm}"), ("dispense", f"pharmacy:{p.w.pharm}")]
    status, root = send(client, p.auth(p.w.pharm), message("RxFill", p.w.male, ncpdp_id=ncpdp_id,
                                                           case=p.w.number, counselled=True))
    assert status == 409 and "R33_ALREADY_DISPENSED" in (text(root, "Body/Error/Description") or "")
    assert p.w.count(Dispense) == 1


def test_rxfill_is_for_pharmacies_and_for_their_own_messages(client: TestClient, p: Population) -> None:
    fill = message("RxFill", p.w.male, ncpdp_id=p.ncpdp_of(p.w.other_pharm), case=p.w.number, counselled=True)
    status, root = send(client, p.auth(p.w.pharm), fill)
    assert status == 403 and "NCPDPID" in (text(root, "Body/Error/Description") or "")
    status, _ = send(client, p.auth(p.w.doc), fill)
    assert status == 403
    assert p.w.refusals(p.w.pharm) == ["AUTH_SENDER_MISMATCH"]
    assert p.w.refusals(p.w.doc) == ["AUTH_ROLE_FORBIDDEN"]
    status, _ = send(client, p.auth(p.w.pharm), message("RxFill", p.w.frp, ncpdp_id=p.ncpdp_of(p.w.pharm),
                                                        case=p.w.number, counselled=True))
    assert status == 404  # a case number presented for someone else
    status, root = send(client, p.auth(p.w.pharm), message("RxFill", p.w.male, ncpdp_id=p.ncpdp_of(p.w.pharm),
                                                        case=p.w.number, fill_status="NotDispensed"))
    assert status == 422 and "FillStatus" in (text(root, "Body/Error/Description") or "")


def test_other_prescribers_patient_is_closed_like_an_unknown_one_and_audited(client: TestClient, p: Population) -> None:
    _, root = send(client, p.auth(p.w.other_doc), message("REMSInitiationRequest", p.w.male))
    assert texts(root, "Body/REMSInitiationResponse/Response/Closed/ReasonCode") == ["PTE"]
    assert p.w.refusals(p.w.other_doc) == ["AUTH_NOT_FOUND_OR_NOT_YOURS"]


def test_malformed_xml_gets_an_ncpdp_error_never_a_500(client: TestClient, p: Population) -> None:
    xxe = (b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<Message xmlns="http://www.ncpdp.org/schema/SCRIPT"><Header><MessageID>&x;</MessageID></Header></Message>')
    laughs = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
              b'<Message>&b;</Message>')
    utf16 = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE m [<!ENTITY x "y">]><Message>&x;</Message>'
    valid = message("REMSRequest", p.w.male)
    cases = {
        b"": "empty", b"<Message><Header>": "not well-formed",
        b"<Message>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</Message>": "not well-formed",  # too deep
        xxe: "DOCTYPE", laughs: "DOCTYPE",
        utf16.encode("utf-16"): "DOCTYPE",
        b"<NewRx/>": "root element is NewRx",
        valid.replace(b"<MessageID>msg-1</MessageID>", b""): "MessageID is required",
        valid.replace(b"REMSRequest>", b"NewRx>"): "NewRx is not supported",
        valid.replace(b"<REMSPatientID>" + p.w.male.encode() + b"</REMSPatientID>", b""): "REMSPatientID is required",
        valid.replace(b"<Qualifier>ND</Qualifier>", b"<Qualifier>XX</Qualifier>"): "DrugCoded",
        valid.replace(b"REMSRequest>", b"RxFill>"): "FillStatus is required",
    }
    for body, why in cases.items():
        status, root = send(client, p.auth(p.w.pharm), body)
        description = text(root, "Body/Error/Description") or ""
        assert (status, text(root, "Body/Error/Code")) == (400, "900"), (why, description)
        assert why in description, (why, description)


def test_script_needs_a_pharmacy_or_prescriber_token(client: TestClient, p: Population) -> None:
    status, root = send(client, {}, message("REMSRequest", p.w.male))
    assert status == 401 and text(root, "Body/Error/Code") == "900"
    status, _ = send(client, p.auth(p.w.male), message("REMSRequest", p.w.male))
    assert status == 403 and p.w.refusals(p.w.male) == ["AUTH_ROLE_FORBIDDEN"]
    assert client.get(URL, headers=p.auth(p.w.pharm)).status_code == 405


def test_initiation_reads_the_certifications_of_the_drugs_program(client: TestClient, p: Population) -> None:
    """R1, R3, R25 per program: suspended in lenalidomide closes a lenalidomide initiation (PRC) and
    leaves pomalidomide open; a pharmacy certified in pomalidomide only is closed (PHC) for lenalidomide."""
    from datetime import timedelta as td

    from rems.services.commands import EnrollPatient, parse
    from rems.services.enrollment import patients
    closed = "Body/REMSInitiationResponse/Response/Closed/ReasonCode"
    p.w.call(certification.change_certification, "prescriber", p.w.doc, "certify", "lenalidomide")
    patient = p.w.call(patients.enroll_patient, parse(
        EnrollPatient, program_id="lenalidomide", prescriber_id=p.w.doc, name="Len Patient", sex="male",
        birth_date=(p.w.clock() - td(days=50 * 365)).date(), ppaf={"category": "adult_male"})).id
    lenalidomide = {"rxnorm": "342369", "ndc": None}
    at_pharmacy = message("REMSInitiationRequest", patient, ncpdp_id=p.ncpdp_of(p.w.pharm), **lenalidomide)
    _, root = send(client, p.auth(p.w.doc), at_pharmacy)
    assert texts(root, closed) == ["PHC"]  # R25: not certified in lenalidomide
    p.w.call(certification.change_certification, "pharmacy", p.w.pharm, "certify", "lenalidomide")
    _, root = send(client, p.auth(p.w.doc), at_pharmacy)
    assert text(root, "Body/REMSInitiationResponse/Response/Open/REMSPatientID") == patient
    p.w.call(certification.change_certification, "prescriber", p.w.doc, "suspend", "lenalidomide")
    _, root = send(client, p.auth(p.w.doc), message("REMSInitiationRequest", patient, **lenalidomide))
    assert texts(root, closed) == ["PRC"]  # R3
    _, root = send(client, p.auth(p.w.doc), message("REMSInitiationRequest", p.w.male))
    assert text(root, "Body/REMSInitiationResponse/Response/Open/REMSPatientID") == p.w.male


def test_initiation_naming_another_prescriber_is_closed_r5(client: TestClient, p: Population) -> None:
    """R5: a patient is prescribed for by the prescriber who enrolled her; an NPI that is not that
    prescriber's closes the initiation, and the note names the rule."""
    _, root = send(client, p.auth(p.w.pharm),
                   message("REMSInitiationRequest", p.ready, ncpdp_id=p.ncpdp_of(p.w.pharm), npi="1999999992"))
    assert texts(root, "Body/REMSInitiationResponse/Response/Closed/ReasonCode") == ["PTE"]
    assert "R5_NOT_THE_PATIENTS_PRESCRIBER" in (text(root, "Body/REMSInitiationResponse/Response/Closed/Note")
                                                or "")
