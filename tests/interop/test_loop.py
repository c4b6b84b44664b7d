"""Closing the loop (issue 16 item 5): a refused authorization (R19) and a confirmation that ends
without a dispense (R27 expiry, R26 void) are queued in the same transaction as a FHIR Communication
to the EHR the prescriber is mapped under and an NCPDP RxFill NotDispensed, and the real worker
code (relay and send task bodies, the real channels) delivers them to a prescriber's system on
loopback, once each, retried when it fails."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fhir.resources.R4B.communication import Communication
from lxml import etree
from pydantic import ValidationError
from sqlalchemy import select

from rems.adapters import orm
from rems.adapters.notify import loop as loop_channels
from rems.bootstrap import App, bootstrap
from rems.domain.model import Patient, Pharmacy, Prescriber
from rems.interop import codes
from rems.services.dispensing import confirmations, prescriptions
from rems.services.reminders import sweeps
from rems.settings import Settings
from tests.api.conftest import Clock
from tests.interop.loop_receiver import Receiver, receiver  # noqa: F401 (the fixture)
from tests.interop.ncpdp_helpers import SCHEMA, text, texts
from tests.service.builders import Scenario
from workers.runtime import Runtime
from workers.tasks import relay_body, send_body

ISS = "https://ehr.example.org"
USER = "Practitioner/1"  # the EHR's user mapped to our prescriber (REMS_CDS_PRACTITIONERS)
Looping = Callable[..., App]


@pytest.fixture
def looping(app: App, receiver: Receiver) -> Iterator[Looping]:  # noqa: F811
    """The engine on the same database, configured to close the loop for one prescriber."""
    made: list[App] = []

    def make(prescriber_id: str, fhir: bool = True, ncpdp: bool = True) -> App:
        settings = Settings(env="test", database_url=app.settings.database_url,
                            cds_issuers={ISS: f"{ISS}/jwks.json"}, cds_practitioners={ISS: {USER: prescriber_id}},
                            loop_fhir_endpoints={ISS: f"{receiver.base}/fhir"} if fhir else {},
                            loop_ncpdp_url=f"{receiver.base}/ncpdp" if ncpdp else None)
        made.append(bootstrap(settings))
        return made[-1]
    yield make
    for each in made:
        each.engine.dispose()


def queued(app: App) -> dict[str, dict[str, Any]]:
    """kind -> the outbox row and its stored body."""
    n, m = orm.notifications.c, orm.loop_messages.c
    with app.uow() as uow:
        rows = uow.session.execute(select(n.id, n.kind, n.channel, n.state, n.subject, n.rule, n.recipient,
                                          m.body, m.media_type).join(orm.loop_messages, m.notification_id == n.id)).all()
    return {row.kind: row._asdict() for row in rows}


def npi(s: Scenario) -> str:
    return s.fetch(Prescriber, s.prescriber_id).npi


def scenario(app: App, looping: Looping, fhir: bool = True, ncpdp: bool = True) -> Scenario:
    """A certified prescriber (mapped to the EHR's Practitioner/1) and pharmacy; from here on the
    scenario runs on the engine configured to close the loop."""
    s = Scenario(app).certified_prescriber().certified_pharmacy()
    s.app = looping(s.prescriber_id, fhir, ncpdp)
    return s


def test_a_refused_authorization_queues_a_valid_communication_for_the_prescribers_ehr(
        app: App, looping: Looping) -> None:
    s = scenario(app, looping).enrolled("adult_frp")  # no pregnancy test yet: R9 refuses (R19 kept pending)
    outcome = s.request()
    assert not outcome.decision.allowed and "R9" in {f.rule for f in outcome.decision.failures}
    rows = queued(s.app)
    assert set(rows) == {"denial_communication"}  # no RxFill: nothing was at a pharmacy
    row = rows["denial_communication"]
    assert (row["channel"], row["state"], row["subject"], row["recipient"]) == (
        "fhir", "pending", outcome.prescription.id, f"prescriber:{s.prescriber_id}")
    communication = json.loads(row["body"])
    Communication.model_validate(communication)  # a valid FHIR R4 Communication
    assert row["media_type"] == "application/fhir+json"
    assert communication["identifier"] == [{"system": "urn:rems-engine:notification", "value": row["id"]}]
    assert communication["subject"]["identifier"] == {"system": codes.REMS_PATIENT, "value": s.patient_id}
    assert communication["recipient"] == [{"reference": USER, "identifier": {"system": codes.NPI, "value": npi(s)}}]
    assert communication["about"][0]["identifier"]["value"] == outcome.prescription.id  # no case number yet
    assert {c["coding"][0]["code"] for c in communication["reasonCode"]} == {
        f.rule for f in outcome.decision.failures}
    said = communication["payload"][0]["contentString"]
    assert all(f.code in said for f in outcome.decision.failures)
    assert s.fetch(Patient, s.patient_id).name not in row["body"]  # ids and rules only
    again = s.call(prescriptions.authorize, outcome.prescription.id, s.prescriber_id, actor="dr")
    assert not again.decision.allowed
    assert len(queued(s.app)) == 1  # refused again the same day: the same message, not a second one


def test_nothing_is_queued_for_a_prescriber_of_another_ehr_or_without_configuration(
        app: App, looping: Looping) -> None:
    s = Scenario(app).certified_prescriber().enrolled("adult_frp")
    assert not s.request().decision.allowed
    assert queued(app) == {}  # not configured: as before issue 16
    s.app = looping("pre_someone_else")
    s.enrolled("adult_frp")
    assert not s.request().decision.allowed
    assert queued(s.app) == {}  # our prescriber is not the EHR's user: nothing goes to that EHR


def expired_confirmation(s: Scenario) -> tuple[Any, Any]:
    s.enrolled("adult_male").ready()
    rx = s.authorized()
    assert rx.number is not None
    confirmation = s.confirm(rx.number)
    hours = s.app.programs[s.program].at(s.now).confirmation_valid_hours  # R27, from the program file
    s.advance(hours=hours, minutes=1)
    return rx, confirmation


def test_a_confirmation_expired_unused_queues_a_communication_and_an_rxfill_not_dispensed(
        app: App, looping: Looping) -> None:
    s = scenario(app, looping)
    rx, confirmation = expired_confirmation(s)
    assert s.call(sweeps.expire_due)["confirmations_expired"] == 1
    rows = queued(s.app)
    assert set(rows) == {"not_dispensed_communication", "not_dispensed_rxfill"}
    assert {r["subject"] for r in rows.values()} == {confirmation.id}
    assert {r["rule"] for r in rows.values()} == {"R27"}
    communication = json.loads(rows["not_dispensed_communication"]["body"])
    Communication.model_validate(communication)
    assert communication["about"][0]["identifier"] == {"system": codes.REMS_CASE, "value": rx.number}
    assert confirmation.number in communication["payload"][0]["contentString"]
    fill = rows["not_dispensed_rxfill"]
    assert (fill["channel"], fill["media_type"]) == ("ncpdp", "application/xml")
    root = etree.fromstring(fill["body"].encode())
    SCHEMA.assertValid(root)  # the subset XSD, extended with NotDispensed/ReasonCode
    assert text(root, "Header/MessageID") == fill["id"]  # stable across attempts
    assert text(root, "Header/To") == npi(s)
    assert texts(root, "Body/RxFill/FillStatus/NotDispensed/ReasonCode") == ["AUT"]  # R27: authorization family
    assert "R27" in (text(root, "Body/RxFill/FillStatus/NotDispensed/Note") or "")
    assert text(root, "Body/RxFill/REMSCaseID") == rx.number
    assert text(root, "Body/RxFill/Patient/HumanPatient/Identification/REMSPatientID") == s.patient_id
    assert text(root, "Body/RxFill/Pharmacy/Identification/NCPDPID") == s.fetch(Pharmacy, s.pharmacy_id).ncpdp_id


def test_a_pharmacy_voiding_its_confirmation_queues_not_dispensed_r26(app: App, looping: Looping) -> None:
    s = scenario(app, looping, fhir=False)  # the NCPDP endpoint only
    s.enrolled("adult_male").ready()
    rx = s.authorized()
    assert rx.number is not None
    confirmation = s.confirm(rx.number)
    s.call(confirmations.void_confirmation, confirmation.number, s.pharmacy_id, actor="pharmacist")
    rows = queued(s.app)
    assert set(rows) == {"not_dispensed_rxfill"} and rows["not_dispensed_rxfill"]["rule"] == "R26"


def test_a_dispensed_confirmation_sends_nothing(app: App, looping: Looping) -> None:
    s = scenario(app, looping)
    s.enrolled("adult_male").ready()
    s.dispensed()
    assert queued(s.app) == {}


def runtime(looped: App, clock: Clock) -> Runtime:
    return Runtime(looped.settings, looped, loop_channels.channels(looped.settings, looped.uow), clock)


def test_the_workers_deliver_both_messages_to_the_prescribers_system_once(
        app: App, looping: Looping, receiver: Receiver) -> None:  # noqa: F811
    s = scenario(app, looping)
    expired_confirmation(s)
    s.call(sweeps.expire_due)
    stored = {r["kind"]: r for r in queued(s.app).values()}
    rt, published = runtime(s.app, Clock(s.now)), list[list[str]]()
    receiver.fail = 1  # the first attempt meets a 503: failed, retried after the backoff
    assert relay_body(rt, published.append) == 2
    assert sorted(o for batch in published for o in send_body(rt, batch).values()) == ["failed", "sent"]
    rt.clock = Clock(s.now + rt.policy.backoff)
    assert relay_body(rt, published.append) == 1
    assert list(send_body(rt, published[-1]).values()) == ["sent"]
    assert {r["state"] for r in queued(s.app).values()} == {"sent"}
    [created] = receiver.created.values()
    assert created == stored["not_dispensed_communication"]["body"].encode()  # the stored bytes
    fhir = receiver.to("/fhir/Communication")[-1]
    notification = stored["not_dispensed_communication"]["id"]
    assert fhir["headers"]["if-none-exist"] == f"identifier=urn:rems-engine:notification|{notification}"
    assert fhir["headers"]["content-type"] == "application/fhir+json"
    [*_, rxfill] = receiver.to("/ncpdp")
    assert rxfill["body"] == stored["not_dispensed_rxfill"]["body"].encode()
    for batch in published:  # a send task delivered again sends nothing again
        assert set(send_body(rt, batch).values()) == {"skipped"}
    assert len(receiver.requests) == 3  # two messages, one of them twice (the 503)


def test_an_ncpdp_error_answer_is_a_failed_delivery(app: App, looping: Looping, receiver: Receiver) -> None:  # noqa: F811
    s = scenario(app, looping, fhir=False)
    expired_confirmation(s)
    s.call(sweeps.expire_due)
    receiver.ncpdp_error = True
    rt, published = runtime(s.app, Clock(s.now)), list[list[str]]()
    relay_body(rt, published.append)
    assert [o for batch in published for o in send_body(rt, batch).values()] == ["failed"]


@pytest.mark.parametrize(("update", "why"), [
    ({"loop_fhir_endpoints": {"https://unknown.example": "https://unknown.example/fhir"}}, "not in REMS_CDS_ISSUERS"),
    ({"cds_issuers": {ISS: f"{ISS}/jwks"}, "loop_fhir_endpoints": {ISS: "/fhir"}}, "absolute"),
    ({"loop_ncpdp_url": "ftp://switch.example"}, "absolute"),
    ({"env": "production", "loop_ncpdp_url": "http://switch.example/script"}, "https"),
])
def test_loop_endpoints_are_checked_at_start(update: dict[str, Any], why: str) -> None:
    base: dict[str, Any] = {"env": "test", "public_base_url": "https://rems.example.org",
                            "database_url": "postgresql+psycopg://rems@db/rems", "session_secret": "x" * 40}
    with pytest.raises(ValidationError, match=why):
        Settings(**{**base, **update})


def test_the_subset_xsd_still_takes_a_pharmacys_rxfill() -> None:
    root = etree.fromstring(b'<Message xmlns="http://www.ncpdp.org/schema/SCRIPT"><Header><From>P</From>'
                            b'<MessageID>m</MessageID><SentTime>2026-03-02T09:00:00Z</SentTime></Header><Body>'
                            b'<RxFill><FillStatus><NotDispensed><Note>out of stock</Note></NotDispensed></FillStatus>'
                            b'<Patient><HumanPatient><Identification><REMSPatientID>pat_1</REMSPatientID>'
                            b'</Identification></HumanPatient></Patient><Pharmacy><Identification><NCPDPID>1234567'
                            b'</NCPDPID></Identification></Pharmacy><REMSCaseID>POM-1</REMSCaseID></RxFill>'
                            b'</Body></Message>')
    SCHEMA.assertValid(root)  # a NotDispensed without reason codes, as a pharmacy may send one
