"""Contact details and the prescribed strength (issue 18): syntax only, normalised for storage.

A phone number is taken in its international form (E.164: "+", the country code, at most 15
digits), spaces, dots, dashes and brackets allowed between the digits; an e-mail address is a
local part, "@" and a domain of dotted labels. Neither message repeats the value: a refused value
must not reach a log line (rems/logs.py)."""

from __future__ import annotations

import re

_PHONE_SEPARATORS = re.compile(r"[ .()\-]")
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_STRENGTH = re.compile(r"([0-9]+(?:[.,][0-9]+)?) ?((?:mg|mcg|µg|g|mL|ml|IU|units?|%)(?:/(?:[0-9.]+ ?)?(?:mL|ml|g|dose|tablet|capsule|day))?)")
CHANNELS = ("phone", "sms", "email")


def phone(value: str) -> str:
    """E.164: "+1 (555) 010-0123" becomes "+15550100123"; ValueError otherwise."""
    digits = _PHONE_SEPARATORS.sub("", value)
    if not _E164.fullmatch(digits):
        raise ValueError("must be an international number: +, the country code and the number "
                         "(8 to 15 digits), e.g. +1 555 010 0123")
    return digits


def email(value: str) -> str:
    """local@domain.tld with the domain in lower case; ValueError otherwise."""
    local, at, domain = value.rpartition("@")
    labels = domain.split(".")
    if (not at or len(value) > 254 or len(local) > 64 or not _LOCAL.fullmatch(local) or len(labels) < 2
            or not all(_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit()):
        raise ValueError("must be an e-mail address such as name@example.org")
    return f"{local}@{domain.lower()}"


def strength(value: str) -> str:
    """A dose strength as prescribed: a number and its unit ("4 mg", "0.5 mg", "10 mg/mL")."""
    found = _STRENGTH.fullmatch(value.strip())
    if found is None:
        raise ValueError('must be a number and its unit, e.g. "4 mg" or "10 mg/mL"')
    return f"{found.group(1).replace(',', '.')} {found.group(2)}"
