"""A workflow's state diagram as server-side SVG with the record's state highlighted (no JavaScript).

Drawn from the same data as the Mermaid diagrams of docs/workflows.md (workflows.definitions): states on an
ellipse, one arrow per pair of states a trigger connects; the triggers themselves, with their
conditions, are listed beside the drawing (a self-transition such as renew_ppaf appears only there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from workflows.definitions import WORKFLOWS, Workflow
from workflows.diagrams import mermaid

WIDTH, HEIGHT, BOX_W, BOX_H = 760, 380, 176, 38


@dataclass(frozen=True)
class Edge:
    trigger: str
    source: str
    dest: str
    conditions: tuple[str, ...]


@dataclass(frozen=True)
class Diagram:
    name: str
    key: str  # unique on its page: names the figure and the SVG's arrow marker
    title: str
    current: str | None
    states: tuple[str, ...]
    edges: tuple[Edge, ...]
    svg: Markup
    mermaid: str


def edges(workflow: Workflow) -> tuple[Edge, ...]:
    found = []
    for t in workflow.transitions:
        sources = t["source"] if isinstance(t["source"], list) else [t["source"]]
        for source in sources:
            dest = source if t["dest"] == "=" else t["dest"]
            found.append(Edge(t["trigger"], source, dest, tuple(t.get("conditions", ()))))
    return tuple(found)


def _positions(states: tuple[str, ...]) -> dict[str, tuple[float, float]]:
    cx, cy = WIDTH / 2, HEIGHT / 2
    rx, ry = WIDTH / 2 - BOX_W / 2 - 8, HEIGHT / 2 - BOX_H / 2 - 8
    step = 2 * math.pi / len(states)
    return {s: (cx + rx * math.cos(math.pi + i * step), cy + ry * math.sin(math.pi + i * step))
            for i, s in enumerate(states)}


def _clip(x: float, y: float, dx: float, dy: float) -> tuple[float, float]:
    """Where the ray from a box's centre along (dx, dy) leaves the box."""
    scale = min(BOX_W / 2 / abs(dx) if dx else math.inf, BOX_H / 2 / abs(dy) if dy else math.inf)
    return x + dx * scale, y + dy * scale


def _arrow(a: tuple[float, float], b: tuple[float, float], both_ways: bool, marker: str) -> str:
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = math.hypot(dx, dy) or 1.0
    # Two states joined both ways get two parallel arrows, one either side of the centre line.
    shift = 6.0 if both_ways else 0.0
    ox, oy = -dy / length * shift, dx / length * shift
    x1, y1 = _clip(a[0] + ox, a[1] + oy, dx, dy)
    x2, y2 = _clip(b[0] + ox, b[1] + oy, -dx, -dy)
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#4a5568" '
            f'stroke-width="1.5" marker-end="url(#{marker})"/>')


def _svg(workflow: Workflow, current: str | None, all_edges: tuple[Edge, ...], key: str) -> str:
    at = _positions(workflow.states)
    marker = f"arrow-{key}"
    pairs = {(e.source, e.dest) for e in all_edges if e.source != e.dest}
    label = f"{workflow.title}: " + (f"current state {current}" if current else "no current state")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(label)}" class="diagram">',
             f'<title>{escape(label)}</title>',
             f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
             'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
             'fill="#4a5568"/></marker></defs>']
    parts += [_arrow(at[s], at[d], (d, s) in pairs, marker) for s, d in sorted(pairs)]
    for state in workflow.states:
        x, y = at[state]
        here = state == current
        fill, ink, stroke, width = ("#1d4ed8", "#ffffff", "#0b1f5c", 4) if here else \
            ("#ffffff", "#1a202c", "#4a5568", 1.5)
        text = f"{state} (current)" if here else state
        parts.append(f'<g class="state{" current" if here else ""}"><rect x="{x - BOX_W / 2:.1f}" '
                     f'y="{y - BOX_H / 2:.1f}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="{fill}" '
                     f'stroke="{stroke}" stroke-width="{width}"/><text x="{x:.1f}" y="{y + 5:.1f}" '
                     f'text-anchor="middle" font-family="sans-serif" font-size="14" '
                     f'font-weight="{700 if here else 400}" fill="{ink}">{escape(text)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def diagram(name: str, current: str | None, key: str = "") -> Diagram:
    """The diagram of workflow `name` with `current` highlighted (None: a reference diagram)."""
    key = key or name
    workflow = WORKFLOWS[name]
    state = current if current in workflow.states else None
    all_edges = edges(workflow)
    return Diagram(workflow.name, key, workflow.title, state, workflow.states, all_edges,
                   Markup(_svg(workflow, state, all_edges, key)),  # noqa: S704 - every value escaped above
                   mermaid(workflow, state))
