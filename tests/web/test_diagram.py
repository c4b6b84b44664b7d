"""The state diagrams drawn on record pages come from the machine definitions, current state marked."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from rems.web.diagram import diagram, edges
from workflows.definitions import WORKFLOWS

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_every_state_is_drawn_and_only_the_current_one_is_highlighted(name: str) -> None:
    workflow = WORKFLOWS[name]
    current = workflow.states[-1]
    drawn = diagram(name, current)
    root = ET.fromstring(str(drawn.svg))  # well-formed SVG
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert labels == [f"{s} (current)" if s == current else s for s in workflow.states]
    assert [g.get("class") for g in root.iter(f"{SVG}g")].count("state current") == 1
    assert f"current state {current}" in (root.get("aria-label") or "")
    assert f"class {current} s_active" in drawn.mermaid


def test_transitions_listed_are_exactly_the_definitions_including_self_loops() -> None:
    found = {(e.trigger, e.source, e.dest) for e in edges(WORKFLOWS["patient"])}
    assert ("renew_ppaf", "on_hold", "on_hold") in found
    assert ("hold", "interrupted", "interrupted_on_hold") in found
    assert ("release_hold", "on_hold", "active") in found
    assert len(found) == sum(len(t["source"]) if isinstance(t["source"], list) else 1
                             for t in WORKFLOWS["patient"].transitions)


def test_an_unknown_state_highlights_nothing_and_keys_make_marker_ids_unique() -> None:
    drawn = diagram("prescription", "no_such_state", key="rx_1")
    assert drawn.current is None and "(current)" not in str(drawn.svg)
    assert re.findall(r'marker id="([^"]+)"', str(drawn.svg)) == ["arrow-rx_1"]
