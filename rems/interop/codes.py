"""Code tables between our rule ids and the wire: medication codes, identifier systems, reason codes.

Medication → program: RxNorm ingredient codes live with the program data (`rxnorm` in
workflows/programs/*.toml); NDC package codes are listed here, because the program file format
has no field for them and they are a property of the marketed products, not of the rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from workflows.program import Program

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NDC = "http://hl7.org/fhir/sid/ndc"
REMS_PATIENT = "urn:rems-engine:patient-id"  # Identifier.system of our REMS patient id
REMS_CASE = "urn:rems-engine:authorization-number"  # the case number = our authorization number
NCPDP_PROVIDER = "http://terminology.hl7.org/NamingSystem/NCPDPProviderIdentificationNumber"
NPI = "http://hl7.org/fhir/sid/us-npi"
RULES = "urn:rems-engine:rule"  # the CodeSystem of our rule ids (R1…, see REMS_RULES.md)
MODULE_URI = "http://hl7.org/fhir/us/medication-rems/"

# NDC (11 digits, 5-4-2) → program id. From the package labels of the reference products
# (POMALYST, REVLIMID, THALOMID, Bristol-Myers Squibb labeler 59572); generics are added here.
NDC_PROGRAMS: Mapping[str, str] = {
    "59572050121": "pomalidomide", "59572050221": "pomalidomide",  # POMALYST 1 mg, 2 mg
    "59572050321": "pomalidomide", "59572050421": "pomalidomide",  # POMALYST 3 mg, 4 mg
    "59572040228": "lenalidomide", "59572040528": "lenalidomide",  # REVLIMID 2.5 mg, 5 mg
    "59572041028": "lenalidomide", "59572041521": "lenalidomide",  # REVLIMID 10 mg, 15 mg
    "59572020514": "thalidomide", "59572021028": "thalidomide",    # THALOMID 50 mg, 100 mg
}
_NDC_PAD = {(4, 4, 2): 0, (5, 3, 2): 1, (5, 4, 1): 2}  # 10-digit shape → the segment padded with a 0


def ndc11(code: str) -> str | None:
    """An NDC in 11-digit form: from 11 plain digits, or a hyphenated 10-digit 4-4-2/5-3-2/5-4-1."""
    code = code.strip()
    if re.fullmatch(r"\d{11}", code):
        return code
    parts = code.split("-")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        shape = tuple(len(p) for p in parts)
        if shape == (5, 4, 2):
            return "".join(parts)
        if shape in _NDC_PAD:
            parts[_NDC_PAD[shape]] = "0" + parts[_NDC_PAD[shape]]
            return "".join(parts)
    return None


def program_for(system: str, code: str, programs: Iterable[Program]) -> Program | None:
    """The REMS program a coded medication belongs to, or None when it is in none."""
    for program in programs:
        if system == RXNORM and code.strip() in program.rxnorm:
            return program
        if system == NDC and NDC_PROGRAMS.get(ndc11(code) or "") == program.id:
            return program
    return None


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
    "R36": "Authorization",
}

# NCPDP SCRIPT REMS reason codes (our local list, see docs/readme/issue-9.md): one per rule family.
NCPDP_REASONS: Mapping[str, str] = {
    "R1": "PRC", "R3": "PRC", "R25": "PHC",
    "R5": "PTE", "R6": "PTE", "R8": "PTE", "R12": "PTE",
    "R9": "LAB", "R10": "LAB", "R11": "LAB", "R30": "LAB", "R34": "LAB",
    "R15": "ATT", "R19": "ATT", "R20": "SRV",
    "R22": "AUT", "R23": "AUT", "R26": "AUT", "R27": "AUT", "R33": "AUT", "R36": "AUT",
    "R24": "QTY", "R28": "QTY", "R29": "CNS",
}
NCPDP_DRUG_NOT_IN_PROGRAM = "DRG"
NCPDP_UNKNOWN = "UNK"


def ncpdp_reason(rule: str) -> str:
    return NCPDP_REASONS.get(rule, NCPDP_UNKNOWN)


def requirement_name(rule: str) -> str:
    return REQUIREMENT_NAMES.get(rule, f"REMS requirement {rule}")
