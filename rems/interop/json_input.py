"""Reading a JSON body the interop routes parse themselves (FHIR, CDS Hooks): a refusal names where.

`json.loads` alone raises a bare ValueError on an integer over 4,300 digits, a RecursionError on
deep nesting, and accepts NaN, Infinity, NUL and lone surrogates in strings: each became a 500 or
reached the database (issue 15 item 6). Here each is a BadJson naming the JSON path. Strings
follow FHIR's string rule (TAB, CR and LF allowed in free text such as a dosage note); every
other control character is refused wherever it is, keys included.
"""

from __future__ import annotations

import json
import math
from typing import Any

from rems.domain.inputs import control_character

MAX_DIGITS = 40  # no number any interface takes has more digits
MAX_DEPTH = 64  # FHIR Parameters with a contained MedicationRequest nest about 12 deep


class BadJson(ValueError):
    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where, self.reason = where, reason


class _Refused:
    """A number the parser met and we refuse; reported with its path by the walk."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _int(text: str) -> int | _Refused:
    if len(text.lstrip("-")) > MAX_DIGITS:
        return _Refused(f"a number of {len(text)} digits ({MAX_DIGITS} at most)")
    return int(text)


def _float(text: str) -> float | _Refused:
    value = float(text)
    return value if math.isfinite(value) else _Refused(f"{text[:20]} is out of range")


def _constant(text: str) -> _Refused:
    return _Refused(f"{text} is not a JSON number")


def loads(body: bytes) -> Any:
    """The parsed body, or BadJson: not UTF-8 JSON, too deep, a refused number or a control character."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadJson("body", f"not UTF-8 (byte {error.start})") from None
    try:
        raw = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as error:
        raise BadJson("body", f"not JSON: {error.msg} at character {error.pos}") from None
    except RecursionError:
        raise BadJson("body", f"nested more than {MAX_DEPTH} levels deep") from None
    _walk(raw, "", 0)
    return raw


def _join(where: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else key


def _walk(value: Any, where: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise BadJson(where or "body", f"nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, _Refused):
        raise BadJson(where or "body", value.reason)
    if isinstance(value, str):
        found = control_character(value, free_text=True)  # FHIR strings may hold TAB, CR, LF
        if found is not None:
            raise BadJson(where or "body", f"must not contain control characters (found {found})")
    elif isinstance(value, dict):
        for key, item in value.items():
            if control_character(key) is not None:
                raise BadJson(_join(where, repr(key)[1:-1]), "a member name with control characters")
            _walk(item, _join(where, key), depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, _join(where, index), depth + 1)
