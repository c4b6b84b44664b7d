"""Medication codes to programs (RxNorm and NDC from the program files' products, docs/products.md)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from rems import domain
from rems.domain.catalogue import AUTHORIZATION_STATE_CODES
from rems.interop.codes import NCPDP_REASONS, NDC, REQUIREMENT_NAMES, RXNORM, ndc11, program_for_medication
from workflows.program import load_programs

PROGRAMS = load_programs().values()
DAY = date(2026, 3, 2)


@pytest.mark.parametrize(("given", "expected"), [
    ("59572-504-21", "59572050421"),   # 5-3-2
    ("5957-2504-21", "05957250421"),   # 4-4-2
    ("59572-0504-1", "59572050401"),   # 5-4-1
    ("59572-0504-21", "59572050421"),  # 11 digits, hyphenated
    ("59572050421", "59572050421"),
    ("5957250421", None),              # 10 digits without hyphens: ambiguous
    ("59572-504", None), ("abc", None), ("", None),
])
def test_ndc_is_normalised_to_eleven_digits_or_refused(given: str, expected: str | None) -> None:
    assert ndc11(given) == expected


def test_codes_map_to_their_program_and_unknown_codes_to_none() -> None:
    def program(system: str, code: str) -> str | None:
        found = program_for_medication(system, code, PROGRAMS, DAY)
        return found.id if found else None
    assert [program(RXNORM, c) for c in ("1369713", "342369", "10432")] == [
        "pomalidomide", "lenalidomide", "thalidomide"]
    assert program(NDC, "59572-501-21") == "pomalidomide"
    assert program(NDC, "1369713") is None  # an RxNorm code is not an NDC
    assert program("http://snomed.info/sct", "1369713") is None


def test_every_gate_rule_has_a_wire_name_and_an_ncpdp_reason() -> None:
    """Read from the gate's own source (the code constants it names, and the catalogue's answers
    for a prescription's state), so a new rule there fails here until it is mapped."""
    sources = [Path(domain.__file__).parent / name for name in ("gate.py", "testing.py", "prescribing.py")]
    gate_rules = {rule for path in sources
                  for rule in re.findall(r'\b(R\d+)_[A-Z_]+', path.read_text(encoding="utf-8"))}
    gate_rules |= {rule for rule, _ in AUTHORIZATION_STATE_CODES.values()}
    assert len(gate_rules) > 15
    assert gate_rules <= set(REQUIREMENT_NAMES)
    assert gate_rules <= set(NCPDP_REASONS)
