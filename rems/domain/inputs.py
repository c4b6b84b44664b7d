"""Input forms: plain text (no control characters), the NPI (R1, R2) and NCPDP provider id (R25).

Pure functions shared by every interface (API schemas, commands, forms, CLI, FHIR, CDS Hooks,
NCPDP); each interface turns a refusal into its own 4xx naming the field (docs/input.md).
"""

from __future__ import annotations

import re

# Unicode Cc (C0 controls incl. TAB/CR/LF, DEL, C1) and lone surrogates (Cs): PostgreSQL refuses
# NUL and cannot encode a surrogate; the rest break logs, CSV exports and printed labels.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# FHIR's string type (and so CDS Hooks' FHIR resources) allows TAB, CR and LF in free text.
_CONTROL_BUT_WHITESPACE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# ASCII digits, whole value: \d also matches other scripts' digits, and $ a trailing newline.
NPI_FORM = re.compile(r"[0-9]{10}")
NCPDP_ID_FORM = re.compile(r"[0-9]{7}")
_NPI_PREFIX = "80840"  # ISO 7812 issuer prefix of the NPI: the Luhn check runs over it too


def control_character(value: str, free_text: bool = False) -> str | None:
    """The first control character of `value`, named as U+XXXX at its position, or None;
    `free_text` lets TAB, CR and LF through (FHIR strings, multi-line notes)."""
    found = (_CONTROL_BUT_WHITESPACE if free_text else _CONTROL).search(value)
    return None if found is None else f"U+{ord(found.group()):04X} at position {found.start()}"


def plain(value: str) -> str:
    """`value` unchanged, or ValueError saying which control character it holds."""
    found = control_character(value)
    if found is not None:
        raise ValueError(f"must not contain control characters (found {found})")
    return value


def _luhn_sum(digits: str) -> int:
    total = 0
    for index, char in enumerate(reversed(digits)):
        d = int(char)
        if index % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total


def npi_check_digit(first_nine: str) -> str:
    """The tenth digit of an NPI whose first nine are `first_nine` (Luhn over 80840 + them)."""
    if not re.fullmatch(r"[0-9]{9}", first_nine):
        raise ValueError("an NPI's check digit needs exactly nine digits")
    return str((10 - _luhn_sum(_NPI_PREFIX + first_nine + "0") % 10) % 10)


def npi(value: str) -> str:
    """A valid NPI (10 digits, the last its Luhn check digit), or ValueError saying why not."""
    if not NPI_FORM.fullmatch(value):
        raise ValueError("must be a 10-digit NPI")
    if _luhn_sum(_NPI_PREFIX + value) % 10 != 0:
        raise ValueError(f"is not a valid NPI: its check digit should be {npi_check_digit(value[:9])}")
    return value


def ncpdp_id(value: str) -> str:
    """A 7-digit NCPDP provider id, or ValueError."""
    if not NCPDP_ID_FORM.fullmatch(value):
        raise ValueError("must be a 7-digit NCPDP provider id")
    return value
