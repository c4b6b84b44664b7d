"""NCPDP SCRIPT (2017071 shapes) XML: hardened parsing of requests, building of responses.

Parsing never expands an entity, loads a DTD or touches the network: a DOCTYPE or an entity
declaration is refused before lxml sees the document, and again after (for other encodings).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from rems.domain.inputs import control_character, ncpdp_id, npi

NS = "http://www.ncpdp.org/schema/SCRIPT"
VERSION = "2017071"
TRANSACTIONS = ("REMSInitiationRequest", "REMSRequest", "RxFill")
RXNORM_QUALIFIERS = ("SCD", "SBD", "GPCK", "BPCK", "IN", "PIN", "MIN", "SCDF", "SBDF")
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class Malformed(ValueError):
    """A message we cannot read: answered with an NCPDP Error (code 900), never a 500."""

    status = 400


class Invalid(Malformed):
    """A readable message with a value we refuse (a control character, an NPI failing its check
    digit): the element is named; answered with an NCPDP Error and 422 (docs/input.md)."""

    status = 422


@dataclass(frozen=True)
class Drug:
    ndc: str | None
    rxnorm: str | None


@dataclass(frozen=True)
class Counselling:  # R29, a local extension element (REMSCounselling) of RxFill
    counselled: bool
    checklist: bool
    medication_guide: bool


@dataclass(frozen=True)
class Message:
    kind: str  # one of TRANSACTIONS
    message_id: str
    sender: str | None
    sender_qualifier: str | None
    patient_id: str | None  # REMSPatientID
    ncpdp_id: str | None
    npi: str | None
    drug: Drug
    case_number: str | None  # REMSCaseID: our authorization number
    dispensed: bool = False
    counselling: Counselling | None = None


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=True, remove_pis=True)


def _localize(root: etree._Element) -> None:
    """Elements of the SCRIPT namespace by their local names; any other namespace is never read."""
    for element in root.iter():
        if isinstance(element.tag, str) and etree.QName(element).namespace == NS:
            element.tag = etree.QName(element).localname


def _text(root: etree._Element, path: str) -> str | None:
    found = root.find(path)
    value = (found.text or "").strip() if found is not None else ""
    # XML 1.0 refuses NUL and most C0 characters itself; TAB, CR, LF, DEL and C1 remain.
    if (bad := control_character(value)) is not None:
        raise Invalid(f"{path} must not contain control characters (found {bad})")
    return value or None


def _identifiers(m: Message) -> None:
    """R1, R25: a prescriber's NPI passes its check digit; a pharmacy's NCPDP id has 7 digits."""
    for path, value, check in (("Prescriber/NonVeterinarian/Identification/NPI", m.npi, npi),
                               ("Pharmacy/Identification/NCPDPID", m.ncpdp_id, ncpdp_id)):
        if value is not None:
            try:
                check(value)
            except ValueError as error:
                raise Invalid(f"{m.kind}/{path} {value!r} {error}") from None


def _yes(root: etree._Element, path: str) -> bool:
    return (_text(root, path) or "").upper() in ("Y", "YES", "TRUE", "1")


def parse(body: bytes) -> Message:
    if not body.strip():
        raise Malformed("the body is empty; an NCPDP SCRIPT Message is expected")
    if _DECLARATION.search(body):
        raise Malformed("DOCTYPE and ENTITY declarations are not accepted")
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as error:
        raise Malformed(f"not well-formed XML: {error}") from None
    if root.getroottree().docinfo.doctype or any(True for _ in root.iter(etree.Entity)):
        raise Malformed("DOCTYPE and entity references are not accepted")
    name = etree.QName(root)
    if name.localname != "Message":
        raise Malformed(f"the root element is {name.localname}, not Message")
    if name.namespace != NS:  # issue 15 item 6: a Message of another (or no) namespace is no SCRIPT
        raise Malformed(f"the Message is in namespace {name.namespace or '(none)'}; SCRIPT messages "
                        f"are in {NS}")
    _localize(root)
    message_id = _text(root, "Header/MessageID")
    if message_id is None:
        raise Malformed("Header/MessageID is required")
    body_el = root.find("Body")
    children = [c for c in body_el if isinstance(c.tag, str)] if body_el is not None else []
    if len(children) != 1:
        raise Malformed("Body must hold exactly one transaction")
    tx = children[0]
    if tx.tag not in TRANSACTIONS:
        raise Malformed(f"transaction {tx.tag} is not supported here; send one of {', '.join(TRANSACTIONS)}")
    med = tx.find("MedicationDispensed") if tx.tag == "RxFill" else tx.find("MedicationPrescribed")
    drug = Drug(None, None)
    if med is not None:
        product, db = med.find("DrugCoded/ProductCode"), med.find("DrugCoded/DrugDBCode")
        ndc = _text(product, "Code") if product is not None and _text(product, "Qualifier") == "ND" else None
        rx = _text(db, "Code") if db is not None and _text(db, "Qualifier") in RXNORM_QUALIFIERS else None
        drug = Drug(ndc, rx)
    counselling = None
    if tx.find("REMSCounselling") is not None:
        counselling = Counselling(_yes(tx, "REMSCounselling/PatientCounselled"),
                                  _yes(tx, "REMSCounselling/EducationChecklistCompleted"),
                                  _yes(tx, "REMSCounselling/MedicationGuideGiven"))
    sender = root.find("Header/From")
    message = Message(
        kind=tx.tag, message_id=message_id, sender=_text(root, "Header/From"),
        sender_qualifier=sender.get("Qualifier") if sender is not None else None,
        patient_id=_text(tx, "Patient/HumanPatient/Identification/REMSPatientID"),
        ncpdp_id=_text(tx, "Pharmacy/Identification/NCPDPID"),
        npi=_text(tx, "Prescriber/NonVeterinarian/Identification/NPI"),
        drug=drug, case_number=_text(tx, "REMSCaseID"),
        dispensed=tx.find("FillStatus/Dispensed") is not None, counselling=counselling)
    _required(message, tx)
    _identifiers(message)
    return message


def _required(m: Message, tx: etree._Element) -> None:
    if m.patient_id is None:
        raise Malformed(f"{m.kind}/Patient/HumanPatient/Identification/REMSPatientID is required")
    if m.kind != "RxFill" and m.drug.ndc is None and m.drug.rxnorm is None:
        raise Malformed(f"{m.kind}/MedicationPrescribed/DrugCoded needs a ProductCode (ND) or a "
                        "DrugDBCode (RxNorm)")
    if m.kind == "RxFill":
        if tx.find("FillStatus") is None:
            raise Malformed("RxFill/FillStatus is required")
        if m.case_number is None:
            raise Malformed("RxFill/REMSCaseID (the authorization number) is required")


# -- responses ---------------------------------------------------------------------------------
# NCPDP SCRIPT: a response answering a request that carries a MessageID names it in
# RelatesToMessageID, Error responses included, so the sender can correlate them (issue 16 item 5).
_SAFE_ID = re.compile(r"[!-%'-;=?-~]{1,200}")  # printable, no XML markup characters
_ID_IN_TEXT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?MessageID(?:\s[^<>]*)?>\s*([!-%'-;=?-~]{1,200})\s*</")


@dataclass(frozen=True)
class Correlation:
    """What an answer needs of a request it could not fully read: its MessageID and sender."""

    message_id: str
    sender: str | None = None
    sender_qualifier: str | None = None


def _safe(value: str | None) -> str | None:
    return value if value is not None and _SAFE_ID.fullmatch(value) else None


def correlation(body: bytes | None) -> Correlation | None:
    """The request's Header/MessageID (and From) when it has one, even if the rest is unreadable
    or the body was cut at the size limit; never resolves an entity or reads a DTD."""
    if not body:
        return None
    if not _DECLARATION.search(body):
        try:
            root = etree.fromstring(body, _parser())
        except (etree.XMLSyntaxError, ValueError):
            root = None
        if root is not None:
            _localize(root)
            sender = root.find("Header/From")
            found = _safe(_text(root, "Header/MessageID"))
            return Correlation(found, _safe(_text(root, "Header/From")),
                               _safe(sender.get("Qualifier")) if sender is not None else None) if found else None
    match = _ID_IN_TEXT.search(body[:65536])  # cut or not well-formed: the first MessageID element
    return Correlation(match.group(1).decode("ascii")) if match else None


Answering = Message | Correlation
def _el(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    child = etree.SubElement(parent, f"{{{NS}}}{tag}", attrs)
    if text is not None:
        child.text = text
    return child


def _envelope(request: Answering | None, now: datetime, to: tuple[str, str] | None = None,
              message_id: str | None = None) -> tuple[etree._Element, etree._Element]:
    """The Message and its Body; `to` (address, qualifier) and `message_id` for a message we
    start ourselves (an answer is addressed back to the request's sender)."""
    root = etree.Element(f"{{{NS}}}Message", nsmap={None: NS}, DatatypesVersion=VERSION,
                         TransportVersion=VERSION, TransactionDomain="SCRIPT",
                         TransactionVersion=VERSION, StructuresVersion=VERSION, ECLVersion=VERSION)
    header = _el(root, "Header")
    sender = _safe(request.sender) if request is not None else None
    if request is not None and sender:
        to = (sender, _safe(request.sender_qualifier) or "ZZZ")
    if to is not None:
        _el(header, "To", to[0], Qualifier=to[1])
    _el(header, "From", "REMS-ENGINE", Qualifier="ZZZ")
    _el(header, "MessageID", message_id or uuid.uuid4().hex)
    relates = _safe(request.message_id) if request is not None else None
    if relates:
        _el(header, "RelatesToMessageID", relates)
    _el(header, "SentTime", now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return root, _el(root, "Body")


def _patient(parent: etree._Element, patient_id: str) -> None:
    identification = _el(_el(_el(parent, "Patient"), "HumanPatient"), "Identification")
    _el(identification, "REMSPatientID", patient_id)


def _dt(parent: etree._Element, tag: str, moment: datetime) -> None:
    _el(_el(parent, tag), "DateTime", moment.strftime("%Y-%m-%dT%H:%M:%SZ"))


def serialize(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def initiation_response(request: Message, now: datetime, reasons: Sequence[str], note: str) -> bytes:
    """Open (no reasons) with the patient's REMS id, or Closed with a reason code per failing rule."""
    root, body = _envelope(request, now)
    tx = _el(body, "REMSInitiationResponse")
    _patient(tx, request.patient_id or "")
    response = _el(tx, "Response")
    if not reasons:
        opened = _el(response, "Open")
        _el(opened, "REMSPatientID", request.patient_id or "")
        _el(opened, "Note", note[:2000])
    else:
        closed = _el(response, "Closed")
        for code in reasons:
            _el(closed, "ReasonCode", code)
        _el(closed, "Note", note[:2000])
    return serialize(root)


@dataclass(frozen=True)
class Approval:
    number: str
    start: datetime
    end: datetime


def rems_response(request: Message, now: datetime, approval: Approval | None, reasons: Sequence[str],
                  note: str, case_number: str | None) -> bytes:
    """Approved with the authorization number and period (R23), or Denied with reason codes."""
    root, body = _envelope(request, now)
    tx = _el(body, "REMSResponse")
    _patient(tx, request.patient_id or "")
    if case_number:
        _el(tx, "REMSCaseID", case_number)
    response = _el(tx, "Response")
    if approval is not None:
        approved = _el(response, "Approved")
        _el(approved, "REMSAuthorizationNumber", approval.number)
        period = _el(approved, "AuthorizationPeriod")
        _dt(period, "StartDate", approval.start)
        _dt(period, "EndDate", approval.end)
        _el(approved, "Note", note[:2000])
    else:
        denied = _el(response, "Denied")
        for code in reasons:
            _el(denied, "DeniedReasonCode", code)
        _el(denied, "Note", note[:2000])
    return serialize(root)


def status(request: Message, now: datetime, note: str) -> bytes:
    root, body = _envelope(request, now)
    status_el = _el(body, "Status")
    _el(status_el, "Code", "000")
    _el(status_el, "Note", note[:2000])
    return serialize(root)


def error(request: Answering | None, now: datetime, description: str, code: str = "900",
          description_code: str | None = None) -> bytes:
    """An NCPDP Error: 900 = transaction rejected, 601 = receiver unable to process (retry)."""
    root, body = _envelope(request, now)
    error_el = _el(body, "Error")
    _el(error_el, "Code", code)
    if description_code:
        _el(error_el, "DescriptionCode", description_code)
    _el(error_el, "Description", description[:2000])
    return serialize(root)


@dataclass(frozen=True)
class NotDispensed:
    """An RxFill NotDispensed we send to the prescriber's system (issue 16 item 5): which case, for
    whom, at which pharmacy, and why (reason codes and a note naming the rule)."""

    message_id: str  # stable for one outbox row: a repeated send carries the same id
    prescriber_npi: str
    patient_id: str  # our REMS patient id
    ncpdp_id: str
    case_number: str
    rxnorm: str | None
    reasons: tuple[str, ...]
    note: str


def rx_fill_not_dispensed(fill: NotDispensed, now: datetime) -> bytes:
    root, body = _envelope(None, now, to=(fill.prescriber_npi, "ZZZ"), message_id=fill.message_id)
    tx = _el(body, "RxFill")
    status_el = _el(_el(tx, "FillStatus"), "NotDispensed")
    for code in fill.reasons:
        _el(status_el, "ReasonCode", code)
    _el(status_el, "Note", fill.note[:2000])
    _patient(tx, fill.patient_id)
    _el(_el(_el(tx, "Pharmacy"), "Identification"), "NCPDPID", fill.ncpdp_id)
    _el(_el(_el(_el(tx, "Prescriber"), "NonVeterinarian"), "Identification"), "NPI", fill.prescriber_npi)
    if fill.rxnorm:
        db = _el(_el(_el(tx, "MedicationDispensed"), "DrugCoded"), "DrugDBCode")
        _el(db, "Code", fill.rxnorm)
        _el(db, "Qualifier", "IN")  # the program's RxNorm ingredient code
    _el(tx, "REMSCaseID", fill.case_number)
    return serialize(root)


def error_code(content: bytes) -> str | None:
    """The Code of an NCPDP Error answer (None for a Status or a body that is no SCRIPT Error);
    parsed as hardened as a request."""
    if not content.strip() or _DECLARATION.search(content):
        return None
    try:
        root = etree.fromstring(content, _parser())
    except (etree.XMLSyntaxError, ValueError):
        return None
    _localize(root)
    found = root.find("Body/Error")
    try:
        return (_text(found, "Code") or "900") if found is not None else None
    except Invalid:
        return "900"
