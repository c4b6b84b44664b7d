"""Code tables between our rule ids and the wire: medication codes, identifier systems, reason codes.

Medication -> program (issue 17 item 7): the program files list their products (`[[products]]`:
package NDCs with their RxNorm codes, effective-dated, workflows/products.py); a program's own
`rxnorm` list (ingredient codes) is the fallback for an RxNorm code no product claims that day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime

from rems.domain.calendar import local_date
from workflows.products import ndc11 as ndc11  # re-exported: the wire normalises NDCs here
from workflows.program import Program

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NDC = "http://hl7.org/fhir/sid/ndc"
REMS_PATIENT = "urn:rems-engine:patient-id"  # Identifier.system of our REMS patient id
REMS_CASE = "urn:rems-engine:authorization-number"  # the case number = our authorization number
NCPDP_PROVIDER = "http://terminology.hl7.org/NamingSystem/NCPDPProviderIdentificationNumber"
NPI = "http://hl7.org/fhir/sid/us-npi"
RULES = "urn:rems-engine:rule"  # the CodeSystem of our rule ids (R1…, see REMS_RULES.md)
MODULE_URI = "http://hl7.org/fhir/us/medication-rems/"

def _day(on: date | datetime, program: Program) -> date:
    """T1: an aware instant is read on the program's calendar (each program its own zone)."""
    return local_date(on, program.time_zone) if isinstance(on, datetime) else on


def _claims(system: str, code: str, program: Program, day: date) -> bool:
    """Whether a product of the program in force on `day` carries this code."""
    if system == NDC:
        ndc = ndc11(code)
        return ndc is not None and any(p.ndc == ndc and p.on(day) for p in program.products)
    return system == RXNORM and any(code in p.rxnorm and p.on(day) for p in program.products)


def program_for_medication(system: str, code: str, programs: Iterable[Program],
                           on: date | datetime) -> Program | None:
    """The REMS program a coded medication (NDC or RxNorm) belongs to on `on`, or None.

    A product's NDC or RxNorm code routes to the program that lists it on that date (so a product
    that moves routes to the old program before the move and to the new one from its date); an
    RxNorm code no product claims falls back to the programs' `rxnorm` lists. Two claimants are
    refused when the programs are loaded (check_product_overlaps), so at most one answers."""
    code, listed = code.strip(), list(programs)
    found = [p for p in listed if _claims(system, code, p, _day(on, p))]
    if not found and system == RXNORM:
        found = [p for p in listed if code in p.rxnorm]
    if len(found) > 1:  # only when the loader's check was skipped: never guess between programs
        raise ValueError(f"{system}|{code} is claimed by {', '.join(p.id for p in found)}")
    return found[0] if found else None


# What each of our rules is called on the wire: the requirement names of the $rems-etasu nested
# GuidanceResponses and the CDS card topics.
REQUIREMENT_NAMES: Mapping[str, str] = {
    "R1": "Prescriber Certification", "R3": "Prescriber Certification",
    "R25": "Pharmacy Certification",
    "R5": "Patient Enrollment", "R6": "Patient Enrollment (guardian)", "R8": "Patient Enrollment (PPAF category)",
    "R12": "Patient Hold", "R30": "Pregnancy", "R34": "Pregnancy",
    "R9": "Pregnancy Test", "R10": "Pregnancy Test", "R11": "Pregnancy Test",
    "R15": "Contraception Counselling", "R19": "Prescriber Survey and Authorization",
    "R20": "Patient Survey", "R22": "Authorization", "R23": "Authorization",
    "R24": "Quantity and Refills", "R26": "Pharmacy Confirmation", "R27": "Pharmacy Confirmation",
    "R28": "Dispense Timing", "R29": "Pharmacy Counselling", "R33": "Authorization",
    "R36": "Authorization", "LAB": "Lab Test",
}

# NCPDP SCRIPT REMS reason codes (our local list, see docs/readme/issue-9.md): one per rule family.
NCPDP_REASONS: Mapping[str, str] = {
    "R1": "PRC", "R3": "PRC", "R25": "PHC",
    "R5": "PTE", "R6": "PTE", "R8": "PTE", "R12": "PTE",
    "R9": "LAB", "R10": "LAB", "R11": "LAB", "R30": "LAB", "R34": "LAB",
    "R15": "ATT", "R19": "ATT", "R20": "SRV",
    "R22": "AUT", "R23": "AUT", "R26": "AUT", "R27": "AUT", "R33": "AUT", "R36": "AUT",
    "R24": "QTY", "R28": "QTY", "R29": "CNS", "LAB": "LAB",
}
NCPDP_DRUG_NOT_IN_PROGRAM = "DRG"
NCPDP_UNKNOWN = "UNK"


def family(rule: str, code: str | None = None) -> str:
    """The kind of requirement a rule id names on the wire. A program may name its requirements by
    its own ids (iPLEDGE IP5: issue 17); the code keeps the kind's REMS_RULES.md id ("R9_…") or
    its kind ("LAB_…"), so the name and reason code follow the kind, not the program's numbering."""
    if rule in REQUIREMENT_NAMES or code is None:
        return rule
    return code.split("_", 1)[0]


def ncpdp_reason(rule: str, code: str | None = None) -> str:
    return NCPDP_REASONS.get(family(rule, code), NCPDP_UNKNOWN)


def requirement_name(rule: str, code: str | None = None) -> str:
    return REQUIREMENT_NAMES.get(family(rule, code), f"REMS requirement {rule}")
