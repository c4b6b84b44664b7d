"""Issue 15 item 6 outside the OpenAPI document, on SQLite and PostgreSQL: valid FHIR Parameters,
CDS Hooks requests, NCPDP SCRIPT messages and dashboard forms, mutated at random (a leaf replaced
by nasty text, a 5,000-digit number, NaN, a nested value; an element's text, its namespace, a byte;
a form field), never get a server error.

Short profile here (REMS_FUZZ_CORPUS_EXAMPLES, default 15 per interface); `make fuzz` runs more.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from rems.asgi import create_app
from rems.bootstrap import App
from tests.api.conftest import Clock
from tests.api.world import ADMIN, World
from tests.interop import fhir_helpers
from tests.interop.ncpdp_helpers import URL as NCPDP_URL
from tests.interop.ncpdp_helpers import message
from tests.interop.test_cds_hooks import hook, order
from tests.web.conftest import Browser, signed_in

EXAMPLES = int(os.environ.get("REMS_FUZZ_CORPUS_EXAMPLES", "15"))
HUGE, NAN = "\ue000huge", "\ue000nan"  # placeholders: JSON that json.dumps cannot write itself
NASTY = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["\x00", "a\x00b", "\r\n", "\t", "\x07", "\x1b[31m", "\x7f", "\x85", "\ud800",
                     "x" * 3000, "1e999", "-0", "99999999999999999999999", "2026-02-30", "'; DROP TABLE x; --",
                     "<script>", "﷽𝕏😀", "", " ", HUGE, NAN]))
LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), NASTY)
VALUE = st.recursive(LEAF, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NASTY, inner, max_size=3),
                     max_leaves=6)
RUN = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def w(app: App, clock: Clock) -> World:
    return World(app, clock).cast()


@pytest.fixture
def client(app: App, clock: Clock) -> Iterator[TestClient]:
    with TestClient(create_app(app, clock), follow_redirects=False) as test_client:
        yield test_client


def _paths(doc: Any, where: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield where
    if isinstance(doc, dict):
        for key, item in doc.items():
            yield from _paths(item, (*where, key))
    elif isinstance(doc, list):
        for index, item in enumerate(doc):
            yield from _paths(item, (*where, index))


def _mutated(data: st.DataObject, seed: Any) -> bytes:
    """The seed with one to three places replaced, dropped or given a new member; raw JSON out."""
    doc = json.loads(json.dumps(seed))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(list(_paths(doc))))
        if not path:
            doc = data.draw(VALUE)
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        action = data.draw(st.sampled_from(["replace", "drop", "add"]))
        if action == "drop":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[data.draw(NASTY)] = data.draw(VALUE)
        else:
            parent[path[-1]] = data.draw(VALUE)
    return (json.dumps(doc).replace(json.dumps(HUGE), "9" * 5000).replace(json.dumps(NAN), "NaN")
            .encode("utf-8", "surrogatepass"))


def _never_a_server_error(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500])


def _fuzz(test: Callable[[st.DataObject], None]) -> None:
    given(data=st.data())(RUN(test))()


def test_fhir_rems_etasu_corpus(client: TestClient, w: World) -> None:
    seeds = [{"resourceType": "Parameters", "parameter": [fhir_helpers.case(w.number)]},
             {"resourceType": "Parameters", "parameter": [fhir_helpers.patient(w.male), fhir_helpers.medication()]},
             {"resourceType": "Parameters", "parameter": [fhir_helpers.patient(w.frp),
                                                          fhir_helpers.medication(as_request=True)]}]

    def one(data: st.DataObject) -> None:
        actor = data.draw(st.sampled_from([w.pharm, w.doc]))
        response = client.post(fhir_helpers.URL, content=_mutated(data, data.draw(st.sampled_from(seeds))),
                               headers={**w.auth(actor), "Content-Type": "application/fhir+json"})
        _never_a_server_error(response)
        assert response.json()["resourceType"] in ("OperationOutcome", "Parameters")
    _fuzz(one)


def test_cds_hooks_corpus(client: TestClient, w: World) -> None:
    seeds = {"rems-order-sign": hook(w.male, orders=[order()], pharmacy="1234567"),
             "rems-order-select": hook(w.frp, "order-select"), "rems-patient-view": hook(w.male, "patient-view")}

    def one(data: st.DataObject) -> None:
        service = data.draw(st.sampled_from(sorted(seeds)))
        response = client.post(f"/cds-services/{service}", content=_mutated(data, seeds[service]),
                               headers={**w.auth(w.doc), "Content-Type": "application/json"})
        _never_a_server_error(response)
        # cards, or a value refused with the JSON path it sits at (issue 15 item 6)
        assert "cards" in response.json() or (response.status_code == 422 and response.json()["field"])
    _fuzz(one)


def _xml_text(value: str) -> bytes:
    """Nasty text as it may travel in XML: escaped, control characters as character references."""
    return "".join(f"&#{ord(c)};" if ord(c) < 32 or 0x7f <= ord(c) <= 0x9f else c
                   for c in escape(value)).encode("utf-8", "surrogatepass")


def test_ncpdp_script_corpus(client: TestClient, w: World) -> None:
    from tests.interop.conftest import Population

    p = Population.__new__(Population)
    p.w = w
    seeds = [message("REMSInitiationRequest", w.male, ncpdp_id=p.ncpdp_of(w.pharm)),
             message("REMSRequest", w.male, npi=p.npi_of(w.doc)),
             message("RxFill", w.male, ncpdp_id=p.ncpdp_of(w.pharm), case=w.number, counselled=True)]

    def one(data: st.DataObject) -> None:
        seed = data.draw(st.sampled_from(seeds))
        action = data.draw(st.sampled_from(["text", "namespace", "byte", "cut"]))
        if action == "text":
            root = etree.fromstring(seed)
            elements = list(root.iter())
            data.draw(st.sampled_from(elements)).text = "\ue001"
            body = etree.tostring(root).replace("\ue001".encode(), _xml_text(data.draw(NASTY)))
        elif action == "namespace":
            body = seed.replace(b"http://www.ncpdp.org/schema/SCRIPT", data.draw(st.sampled_from(
                [b"", b"urn:x", b"http://www.ncpdp.org/schema/SCRIPT/", b"&#0;"])))
        elif action == "byte":
            at = data.draw(st.integers(0, len(seed)))
            body = seed[:at] + data.draw(st.binary(min_size=1, max_size=4)) + seed[at:]
        else:
            body = seed[: data.draw(st.integers(0, len(seed)))]
        actor = data.draw(st.sampled_from([w.pharm, w.doc]))
        response = client.post(NCPDP_URL, content=body, headers={**w.auth(actor), "Content-Type": "application/xml"})
        _never_a_server_error(response)
        assert response.headers["content-type"].startswith("application/xml")
    _fuzz(one)


FIELDS = ["name", "sex", "birth_date", "ppaf.category", "ppaf.signed_by", "ppaf.guardian_name", "program_id",
          "facts.menarche", "facts.hysterectomy", "facts.bilateral_oophorectomy", "facts.postmenopausal",
          "facts.postmenopausal_since", "time_zone", "identifier.system", "identifier.value", "collected_at",
          "result", "sensitivity_miu_per_ml", "setting", "home_test_accepted", "days_supply", "quantity",
          "contraception_counselling_attested", "prescriber_survey_completed", "number", "patient_id",
          "confirmation_number", "counselled", "education_checklist_completed", "medication_guide_given",
          "respondent", "reason", "to_prescriber_id", "patient", "cycles_regular"]


def test_dashboard_forms_corpus(client: TestClient, w: World) -> None:
    forms = {
        w.doc: ["/web/prescriber/patients/new", f"/web/prescriber/patients/{w.frp}/tests",
                f"/web/prescriber/patients/{w.frp}/prescriptions", f"/web/prescriber/patients/{w.frp}/ppaf",
                f"/web/prescriber/patients/{w.frp}/time-zone", f"/web/prescriber/patients/{w.frp}/missed-period",
                f"/web/prescriber/prescriptions/{w.rx}/survey"],
        w.pharm: ["/web/pharmacy/check", "/web/pharmacy/confirmations", "/web/pharmacy/dispenses"],
        ADMIN: [f"/web/admin/prescribers/{w.doc}/suspend", f"/web/admin/pharmacies/{w.other_pharm}/certify",
                "/web/admin/patients/transfer", "/web/admin/patients/readmission", "/web/admin/patients/facts"],
        w.male: ["/web/patient/survey"],
    }
    homes = {w.doc: "/web/prescriber", w.pharm: "/web/pharmacy", ADMIN: "/web/admin", w.male: "/web/patient"}
    browsers = {}
    for actor in forms:
        browser = Browser(TestClient(client.app, follow_redirects=False))
        signed_in(browser, w, actor)
        browsers[actor] = (browser, browser.csrf(homes[actor]))

    def one(data: st.DataObject) -> None:
        actor = data.draw(st.sampled_from(sorted(forms)))
        path = data.draw(st.sampled_from(forms[actor]))
        fields = data.draw(st.dictionaries(st.sampled_from(FIELDS), NASTY, max_size=8))
        browser, csrf = browsers[actor]
        form = {k: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for k, v in fields.items()}
        _never_a_server_error(browser.client.post(path, data={**form, "csrf": csrf}))
        query = data.draw(NASTY).encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        for get, params in (("/web/admin/audit", {"entity": "patient", "entity_id": query}),
                            ("/web/admin/reports", {"start": query}), ("/web/admin/outbox", {"state": query}),
                            (f"/web/admin/audit/{quote(query, safe='')}", {})):
            _never_a_server_error(browsers[ADMIN][0].client.get(get, params=params))
    _fuzz(one)
