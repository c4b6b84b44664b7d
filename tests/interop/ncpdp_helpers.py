"""Building NCPDP SCRIPT requests (valid against our subset XSD) and reading responses."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from lxml import etree

import rems.interop
from rems.interop.ncpdp_xml import NS

URL = "/ncpdp/script"
SCHEMA = etree.XMLSchema(etree.parse(str(Path(rems.interop.__file__).parent / "ncpdp_subset.xsd")))
POMALYST_NDC = "59572050421"


def _el(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    child = etree.SubElement(parent, f"{{{NS}}}{tag}", attrs)
    child.text = text
    return child


def _medication(parent: etree._Element, tag: str, ndc: str | None, rxnorm: str | None) -> None:
    med = _el(parent, tag)
    _el(med, "DrugDescription", "Pomalidomide 4 mg capsule")
    coded = _el(med, "DrugCoded")
    if ndc:
        product = _el(coded, "ProductCode")
        _el(product, "Code", ndc)
        _el(product, "Qualifier", "ND")
    if rxnorm:
        db = _el(coded, "DrugDBCode")
        _el(db, "Code", rxnorm)
        _el(db, "Qualifier", "IN")
    _el(med, "DaysSupply", "28")


def message(kind: str, patient: str, ncpdp_id: str | None = None, npi: str | None = None,
            ndc: str | None = POMALYST_NDC, rxnorm: str | None = None, case: str | None = None,
            counselled: bool | None = None, fill_status: str = "Dispensed") -> bytes:
    root = etree.Element(f"{{{NS}}}Message", nsmap={None: NS}, TransactionVersion="2017071")
    header = _el(root, "Header")
    _el(header, "To", "REMS-ENGINE", Qualifier="ZZZ")
    _el(header, "From", ncpdp_id or npi or "sender", Qualifier="P" if ncpdp_id else "C")
    _el(header, "MessageID", "msg-1")
    _el(header, "SentTime", "2026-03-02T09:00:00Z")
    tx = _el(_el(root, "Body"), kind)
    if kind == "RxFill":
        _el(_el(tx, "FillStatus"), fill_status)
    human = _el(_el(tx, "Patient"), "HumanPatient")
    _el(_el(human, "Identification"), "REMSPatientID", patient)
    _el(_el(human, "Name"), "LastName", "Doe")
    if ncpdp_id:
        _el(_el(_el(tx, "Pharmacy"), "Identification"), "NCPDPID", ncpdp_id)
    if npi:
        _el(_el(_el(_el(tx, "Prescriber"), "NonVeterinarian"), "Identification"), "NPI", npi)
    _medication(tx, "MedicationDispensed" if kind == "RxFill" else "MedicationPrescribed", ndc, rxnorm)
    if case:
        _el(tx, "REMSCaseID", case)
    if counselled is not None:
        yes = "Y" if counselled else "N"
        block = _el(tx, "REMSCounselling")
        for tag in ("PatientCounselled", "EducationChecklistCompleted", "MedicationGuideGiven"):
            _el(block, tag, yes)
    SCHEMA.assertValid(root)  # our requests follow the message shapes too
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def send(client: TestClient, headers: dict[str, str], body: bytes) -> tuple[int, etree._Element]:
    response = client.post(URL, headers={**headers, "Content-Type": "application/xml"}, content=body)
    assert response.headers["content-type"].startswith("application/xml"), response.text
    root = etree.fromstring(response.content)
    SCHEMA.assertValid(root)  # every response follows the message shapes
    return response.status_code, root


def find(root: etree._Element, path: str) -> etree._Element | None:
    return root.find("/".join(f"{{{NS}}}{part}" for part in path.split("/")))


def text(root: etree._Element, path: str) -> str | None:
    found = find(root, path)
    return found.text if found is not None else None


def texts(root: etree._Element, path: str) -> list[str]:
    return [e.text or "" for e in root.findall("/".join(f"{{{NS}}}{part}" for part in path.split("/")))]
