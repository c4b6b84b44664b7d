"""The lab-test kind's example blocks, read from docs/lab-tests.md (the tests run what the docs show)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from workflows.labs import COMMON, LabRule, parse_lab_rule

DOC = Path(__file__).resolve().parents[2] / "docs" / "lab-tests.md"


def example_blocks() -> dict[str, dict[str, Any]]:
    """Each ```toml block's requirement, by its id ("liver", "anc")."""
    blocks = re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    found = {}
    for block in blocks:
        requirement = tomllib.loads(block)["requirements"][0]
        found[requirement["id"]] = requirement
    return found


def options(spec_id: str) -> dict[str, Any]:
    return {k: v for k, v in example_blocks()[spec_id].items() if k not in COMMON}


def rule(spec_id: str) -> LabRule:
    return parse_lab_rule("doc.toml", "requirements[0].", spec_id, options(spec_id))
