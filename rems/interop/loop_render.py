"""The messages back to the prescriber's system (issue 16 item 5), rendered from ids and rule codes:
a FHIR R4 Communication (validated with fhir.resources) and an NCPDP RxFill NotDispensed (the
subset XSD's shape). No names, birth dates or contact data: the REMS patient id, the case number,
the prescriber's NPI and, for RxFill, the pharmacy's NCPDP id are what the receiver matches on."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fhir.resources.R4B.communication import Communication

from rems.adapters.notify.loop import NOTIFICATION
from rems.domain.model import Prescription
from rems.interop import codes, ncpdp_xml

PRESCRIPTION = "urn:rems-engine:prescription-id"  # a request not authorized has no case number yet
CATEGORY = "http://terminology.hl7.org/CodeSystem/communication-category"


def _about(rx: Prescription) -> dict[str, Any]:
    if rx.number:
        return {"type": "MedicationRequest", "identifier": {"system": codes.REMS_CASE, "value": rx.number}}
    return {"type": "MedicationRequest", "identifier": {"system": PRESCRIPTION, "value": rx.id}}


def communication(notification_id: str, category: str, rx: Prescription, program_name: str,
                  practitioner: str, npi: str, text: str, rules: Sequence[tuple[str, str]],
                  now: datetime) -> dict[str, Any]:
    """`practitioner` is the EHR's own user reference (e.g. Practitioner/123, from
    REMS_CDS_PRACTITIONERS); `rules` the (rule id, requirement code) pairs, code possibly empty."""
    resource = {
        "resourceType": "Communication",
        "identifier": [{"system": NOTIFICATION, "value": notification_id}],
        "status": "completed",
        "category": [{"coding": [{"system": CATEGORY, "code": category}]}],
        "subject": {"type": "Patient", "identifier": {"system": codes.REMS_PATIENT, "value": rx.patient_id}},
        "about": [_about(rx)],
        "sent": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "recipient": [{"reference": practitioner, "identifier": {"system": codes.NPI, "value": npi}}],
        "sender": {"type": "Organization", "display": program_name},
        "reasonCode": [{"coding": [{"system": codes.RULES, "code": rule, "display": codes.requirement_name(rule)}],
                        **({"text": code} if code else {})} for rule, code in dict.fromkeys(rules)],
        "payload": [{"contentString": text}],
    }
    return Communication.model_validate(resource).model_dump(mode="json", exclude_none=True)


def rx_fill(notification_id: str, npi: str, rx: Prescription, ncpdp_id: str, rxnorm: str | None,
            reasons: tuple[str, ...], note: str, now: datetime) -> str:
    """The MessageID is the outbox row's id: every attempt of one row carries the same one."""
    fill = ncpdp_xml.NotDispensed(notification_id, npi, rx.patient_id, ncpdp_id, rx.number or rx.id,
                                  rxnorm, reasons, note)
    return ncpdp_xml.rx_fill_not_dispensed(fill, now).decode()
