"""CDS Hooks 2.0 FHIR resource access (IG STU2 "Prefetch", docs/conformance.md G-3): a hook that lacks
the prefetch we declare is completed from the EHR's FHIR server (`fhirServer`, the bearer token of
`fhirAuthorization`), only from a base allow-listed for the calling EHR's issuer; a server not allowed
is refused (audited) and never contacted; an EHR that cannot be read gives a clear card (412), never a
500. The EHR is real: a JWK Set server and a FHIR server on loopback. SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import dataclasses
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select

from rems.adapters import orm
from rems.asgi import create_app
from rems.bootstrap import App
from rems.interop.codes import NCPDP_PROVIDER, NDC, REMS_PATIENT
from rems.settings import Settings
from tests.api.conftest import Clock
from tests.interop.conftest import Population
from tests.interop.ehr_fhir_server import FhirEhr, fhir_ehr  # noqa: F401 (the fixture)
from tests.interop.jwks import Ehr
from tests.interop.test_cds_hooks import hook, order
from tests.interop.test_cds_jwt import BASE, ISSUER, claims, configured, refusals
from tests.interop.test_cds_jwt import ehr as ehr  # the fixture

TOKEN = "ehr-access-token-7Hq2.x"  # what the EHR grants us in fhirAuthorization
CDS = "/cds-services"


def without_prefetch(body: dict[str, Any], server: str, **authorization: Any) -> dict[str, Any]:
    """The hook as an EHR that prefetches nothing sends it (CDS Hooks 2.0 fhirServer, fhirAuthorization)."""
    body = copy.deepcopy(body)
    del body["prefetch"]
    body["fhirServer"] = server
    body["fhirAuthorization"] = {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 300,
                                 "scope": "patient/Patient.read patient/Organization.read",
                                 "subject": "rems-engine", **authorization}
    return body


def chart(rems_id: str) -> dict[str, Any]:
    """The EHR's Patient ehr-1, carrying our REMS patient id (and a name, which must never be logged)."""
    return {"resourceType": "Patient", "id": "ehr-1", "name": [{"family": "Ehrpatient", "given": ["Ada"]}],
            "identifier": [{"system": REMS_PATIENT, "value": rems_id}]}


def reading_app(app: App, ehr: Ehr, p: Population, servers: list[str], **more: Any) -> App:
    return configured(app, ehr, p, cds_fhir_servers={ISSUER: servers}, cds_fhir_timeout_seconds=0.5, **more)


@pytest.fixture
def reading(app: App, clock: Clock, ehr: Ehr, p: Population, fhir_ehr: FhirEhr) -> Iterator[TestClient]:  # noqa: F811
    with TestClient(create_app(reading_app(app, ehr, p, [fhir_ehr.base]), clock)) as client:
        yield client


def post(client: TestClient, ehr: Ehr, clock: Clock, body: dict[str, Any], service: str = "rems-order-sign") -> Any:
    token = ehr.sign(claims(clock, aud=BASE + CDS))  # a fresh jti each call
    return client.post(f"{CDS}/{service}", json=body, headers={"Authorization": f"Bearer {token}"})


def shown(cards: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What the prescriber sees of each card (uuids and Task ids are new on every call)."""
    return [(c["summary"], c["indicator"], c["detail"], c["source"], [(k["type"], k["url"]) for k in c.get("links", [])])
            for c in cards]


@pytest.mark.parametrize(("hook_name", "service"), [("order-sign", "rems-order-sign"),
                                                   ("patient-view", "rems-patient-view")])
def test_a_missing_patient_prefetch_is_read_from_the_ehr_with_its_token_and_gives_the_same_cards(
        reading: TestClient, ehr: Ehr, clock: Clock, p: Population, fhir_ehr: FhirEhr,  # noqa: F811
        hook_name: str, service: str) -> None:
    prefetched = post(reading, ehr, clock, hook(p.w.frp, hook_name), service)
    assert prefetched.status_code == 200 and fhir_ehr.requests() == []  # a full prefetch reads nothing
    fhir_ehr.hold(chart(p.w.frp))
    fetched = post(reading, ehr, clock, without_prefetch(hook(p.w.frp, hook_name), fhir_ehr.base), service)
    assert fetched.status_code == 200, fetched.text
    cards = fetched.json()["cards"]
    # An FRP enrolled without either pregnancy test or the patient survey: R9 twice and R20 (R9, R20)
    assert [c["source"]["topic"]["code"] for c in cards] == ["R9", "R9", "R20"]
    assert shown(cards) == shown(prefetched.json()["cards"])
    [seen] = fhir_ehr.requests()  # only the template's read: Patient/{{context.patientId}}
    assert seen["path"] == "/fhir/Patient/ehr-1"
    assert seen["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert seen["headers"]["accept"] == "application/fhir+json"


def test_the_pharmacy_template_is_read_by_identifier_search_r25(
        reading: TestClient, ehr: Ehr, clock: Clock, p: Population, fhir_ehr: FhirEhr) -> None:  # noqa: F811
    ncpdp = p.ncpdp_of(p.w.pharm)
    fhir_ehr.hold(chart(p.ready))
    fhir_ehr.hold({"resourceType": "Organization", "id": "org-9",
                   "identifier": [{"system": NCPDP_PROVIDER, "value": ncpdp}]})
    body = without_prefetch(hook(p.ready), fhir_ehr.base)
    body["context"]["pharmacyNcpdpId"] = ncpdp
    response = post(reading, ehr, clock, body)
    assert response.status_code == 200, response.text
    [card] = response.json()["cards"]  # p.ready meets everything: only the certified pharmacy's card
    assert (card["indicator"], card["source"]["topic"]["code"]) == ("info", "R25")
    patient, organization = fhir_ehr.requests()
    assert patient["path"] == "/fhir/Patient/ehr-1"
    search = urlsplit(organization["path"])
    assert search.path == "/fhir/Organization"
    assert parse_qs(search.query) == {"identifier": [f"{NCPDP_PROVIDER}|{ncpdp}"]}
    assert organization["headers"]["authorization"] == f"Bearer {TOKEN}"


def test_nothing_is_read_for_a_drug_of_no_rems_program(reading: TestClient, ehr: Ehr, clock: Clock,
                                                       p: Population, fhir_ehr: FhirEhr) -> None:  # noqa: F811
    fhir_ehr.hold(chart(p.w.frp))
    body = without_prefetch(hook(p.w.frp, orders=[order((NDC, "00000-0000-00"))]), fhir_ehr.base)
    [card] = post(reading, ehr, clock, body).json()["cards"]
    assert card["summary"] == "Bad Request" and "unsupported medication code" in card["detail"]
    assert fhir_ehr.requests() == []


def _sent(server: FhirEhr) -> list[str]:
    base = server.base
    return [base.replace("127.0.0.1", "localhost"), base + "-admin", base.rsplit("/", 1)[0],
            base + "/Patient/ehr-1/..", "https://ehr.example.org/fhir"]


@pytest.mark.parametrize("which", range(5))
def test_a_fhir_server_not_allow_listed_is_refused_audited_and_never_contacted(
        app: App, clock: Clock, ehr: Ehr, p: Population, fhir_ehr: FhirEhr, which: int) -> None:  # noqa: F811
    fhir_ehr.hold(chart(p.w.frp))
    allowed = "https://ehr.example.org/fhir" if which == 4 else fhir_ehr.base
    sent = fhir_ehr.base if which == 4 else _sent(fhir_ehr)[which]
    with TestClient(create_app(reading_app(app, ehr, p, [allowed]), clock)) as client:
        response = post(client, ehr, clock, without_prefetch(hook(p.w.frp), sent))
    [card] = response.json()["cards"]
    assert response.status_code == 200 and card["summary"] == "Bad Request"
    assert "fhirServer" in card["detail"] and "not allow-listed" in card["detail"]
    assert fhir_ehr.requests() == []
    assert refusals(app, "AUTH_FHIR_SERVER_NOT_ALLOWED") == 1


def test_our_own_bearer_token_reads_from_no_ehr(reading: TestClient, p: Population, app: App,
                                                fhir_ehr: FhirEhr) -> None:  # noqa: F811
    """No JWT, no issuer: no fhirServer is allow-listed for the caller, even the EHR's own."""
    fhir_ehr.hold(chart(p.w.frp))
    response = reading.post(f"{CDS}/rems-order-sign", headers=p.auth(p.w.doc),
                            json=without_prefetch(hook(p.w.frp), fhir_ehr.base))
    [card] = response.json()["cards"]
    assert card["summary"] == "Bad Request" and "without an EHR JWT" in card["detail"]
    assert fhir_ehr.requests() == [] and refusals(app, "AUTH_FHIR_SERVER_NOT_ALLOWED") == 1


def test_without_fhir_authorization_nothing_is_read(reading: TestClient, ehr: Ehr, clock: Clock,
                                                    p: Population, fhir_ehr: FhirEhr) -> None:  # noqa: F811
    fhir_ehr.hold(chart(p.w.frp))
    for change, named in (({"fhirAuthorization": None}, "fhirAuthorization is required"),
                          ({"fhirAuthorization": {"access_token": TOKEN, "token_type": "MAC"}}, "token_type"),
                          ({"fhirAuthorization": {"access_token": "a b\r\nX-Evil: 1", "token_type": "Bearer"}},
                           "access_token")):
        body = {**without_prefetch(hook(p.w.frp), fhir_ehr.base), **change}
        [card] = post(reading, ehr, clock, body).json()["cards"]
        assert card["summary"] == "Bad Request" and named in card["detail"], card["detail"]
    assert fhir_ehr.requests() == []


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/fhir"  # nothing listens there now


def test_an_ehr_that_is_down_gives_a_clear_card_and_412(app: App, clock: Clock, ehr: Ehr, p: Population) -> None:
    down = closed_port_url()
    with TestClient(create_app(reading_app(app, ehr, p, [down]), clock)) as client:
        response = post(client, ehr, clock, without_prefetch(hook(p.w.frp), down))
    assert response.status_code == 412  # CDS Hooks 2.0: the service could not obtain the data it needs
    [card] = response.json()["cards"]
    assert card["indicator"] == "warning" and "not checked" in card["summary"]
    assert "could not be reached" in card["detail"] and "unknown, not met" in card["detail"]


@pytest.mark.parametrize(("status", "why"), [(None, "did not answer within 0.5 s"),
                                             (401, "refused the access token"), (500, "answered HTTP 500"),
                                             (302, "redirect"), (404, "has no Patient/ehr-1")])
def test_an_ehr_that_times_out_refuses_or_redirects_gives_a_clear_card(
        reading: TestClient, ehr: Ehr, clock: Clock, p: Population, fhir_ehr: FhirEhr,  # noqa: F811
        status: int | None, why: str) -> None:
    if status is None:
        fhir_ehr.hold(chart(p.w.frp))
        fhir_ehr.slow = 3.0
    elif status != 404:
        fhir_ehr.status = status
        fhir_ehr.location = f"{fhir_ehr.base}/Patient/elsewhere" if status == 302 else ""
    started = time.monotonic()
    response = post(reading, ehr, clock, without_prefetch(hook(p.w.frp), fhir_ehr.base))
    assert time.monotonic() - started < 2.5  # the time-out, not the EHR's 3 s
    [card] = response.json()["cards"]
    assert why in card["detail"], card["detail"]
    assert response.status_code == (200 if status == 404 else 412)  # 404: the EHR says there is none
    assert [r["path"] for r in fhir_ehr.requests()] == ["/fhir/Patient/ehr-1"]  # the redirect not followed


def test_the_token_and_the_ehrs_patient_data_are_never_logged_or_audited(
        reading: TestClient, ehr: Ehr, clock: Clock, p: Population, fhir_ehr: FhirEhr, app: App,  # noqa: F811
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fhir_ehr.hold(chart(p.w.frp))
    assert post(reading, ehr, clock, without_prefetch(hook(p.w.frp), fhir_ehr.base)).status_code == 200
    fhir_ehr.status = 503
    assert post(reading, ehr, clock, without_prefetch(hook(p.w.frp), fhir_ehr.base)).status_code == 412
    assert fhir_ehr.requests()
    logged = caplog.text
    for secret in (TOKEN, "Ehrpatient", "ehr-1", p.w.frp):
        assert secret not in logged, secret
    with app.uow(write=False) as uow:
        audited = " ".join(str(tuple(row)) for row in uow.session.execute(select(orm.audit_log)).all())
    assert TOKEN not in audited and "Ehrpatient" not in audited


def test_the_allow_list_is_checked_at_start() -> None:
    jwks = {ISSUER: "https://ehr.example.org/jwks.json"}
    for wrong, named in (({"https://other.example": ["https://other.example/fhir"]}, "not in REMS_CDS_ISSUERS"),
                         ({ISSUER: ["ehr.example.org/fhir"]}, "absolute"),
                         ({ISSUER: ["https://ehr.example.org/fhir?x=1"]}, "without query")):
        with pytest.raises(ValidationError, match=named):
            Settings(cds_issuers=jwks, cds_fhir_servers=wrong)
    with pytest.raises(ValidationError, match="https in production"):
        Settings(env="production", database_url="postgresql+psycopg://x/y", session_secret="s" * 40,
                 public_base_url="https://rems.example.org", cds_issuers=jwks,
                 cds_fhir_servers={ISSUER: ["http://ehr.example.org/fhir"]})
    assert Settings(cds_issuers=jwks, cds_fhir_servers={ISSUER: ["https://ehr.example.org/fhir"]})


def test_the_prefetch_still_wins_over_the_fhir_server(app: App, clock: Clock, ehr: Ehr, p: Population,
                                                      fhir_ehr: FhirEhr) -> None:  # noqa: F811
    """Given the prefetch, nothing is read, and a fhirServer we do not allow is no reason to refuse."""
    body = {**hook(p.w.frp), "fhirServer": "https://unknown.example/fhir"}
    with TestClient(create_app(dataclasses.replace(reading_app(app, ehr, p, [fhir_ehr.base])), clock)) as client:
        response = post(client, ehr, clock, body)
    assert [c["source"]["topic"]["code"] for c in response.json()["cards"]] == ["R9", "R9", "R20"]
    assert fhir_ehr.requests() == []
