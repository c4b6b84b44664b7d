"""Issue 17 "Done when": FHIR $rems-etasu and CDS Hooks answer for programs of other designs,
naming requirements by the program's own rule ids (iPLEDGE IP*, bosentan BOS*). The medication
code routes to the program (isotretinoin 6064, bosentan 75207 in the program files)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from rems.interop.codes import RXNORM
from rems.services.commands import EnrollPatient, parse
from rems.services.enrollment import patients
from tests.interop.conftest import Population
from tests.interop.fhir_helpers import call, guidance, medication, patient, unmet
from tests.interop.test_cds_hooks import cards, hook, order
from tests.service.builders import NO_FACTS


def enrolled(p: Population, program: str, prescriber: str) -> str:
    return p.w.call(patients.enroll_patient, parse(
        EnrollPatient, program_id=program, prescriber_id=prescriber, name=f"Patient {program}",
        sex="female", birth_date=(p.clock() - timedelta(days=30 * 365)).date(), facts=NO_FACTS,
        ppaf={"category": "adult_frp"})).id


def test_fhir_etasu_for_an_ipledge_patient_names_iplege_rules(client: TestClient, p: Population) -> None:
    doc = p.w.prescriber(program="ipledge")
    rems_id = enrolled(p, "ipledge", doc)
    status, body = call(client, p.auth(doc), patient(rems_id), medication((RXNORM, "6064")))
    assert status == 200 and guidance(body)["status"] == "data-required"
    missing = unmet(body)
    assert "R9_EARLY_TEST_MISSING" in missing and "R20_PATIENT_SURVEY_DUE" in missing
    rules = {param["resource"]["reasonCode"][0]["coding"][0]["code"]
             for c in guidance(body)["contained"] for param in c["parameter"] if "resource" in param}
    assert rules and all(rule.startswith("IP") for rule in rules), rules


def test_cds_hooks_for_a_bosentan_patient_asks_for_the_liver_tests(client: TestClient, p: Population) -> None:
    doc = p.w.prescriber(program="bosentan")
    rems_id = enrolled(p, "bosentan", doc)
    found = cards(client, p, hook(rems_id, orders=[order(code=(RXNORM, "75207"), days=30)]), actor=doc)
    text = " ".join(c["summary"] + " " + c.get("detail", "") for c in found)
    assert "BOS2" in text or any("LAB_INITIAL_MISSING" in str(c) for c in found), found
    assert not any("R9" in c["summary"] for c in found)  # no pregnancy test since its retirement


def test_wire_names_and_ncpdp_reasons_follow_the_kind_not_the_programs_numbering() -> None:
    from rems.interop import codes
    assert codes.requirement_name("IP5", "R9_EARLY_TEST_MISSING") == codes.requirement_name("R9") == "Pregnancy Test"
    assert codes.ncpdp_reason("IP5", "R9_EARLY_TEST_MISSING") == codes.ncpdp_reason("R9") == "LAB"
    assert codes.requirement_name("BOS2", "LAB_STOP") == "Lab Test" and codes.ncpdp_reason("BOS2", "LAB_STOP") == "LAB"
    assert codes.ncpdp_reason("R24") == "QTY" and codes.ncpdp_reason("XYZ", None) == codes.NCPDP_UNKNOWN
