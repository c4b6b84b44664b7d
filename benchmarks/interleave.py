"""Endpoints measured side by side (issue 14 item 1): A B A B over several rounds on one server, the
load average taken at the start of each round, each ratio taken within a round (the same machine
state for both sides) and the median of the rounds reported."""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks import load


@dataclass
class Measure:
    key: str
    items: list[load.Item] = field(default_factory=list)  # reused for as long as the load lasts
    per_round: list[list[load.Item]] = field(default_factory=list)  # single-use, a slice a round
    seconds: float | None = None  # default: the run's


@dataclass
class Rounds:
    results: dict[str, list[load.Result]]
    load_average: list[float]  # 1-minute load average at the start of each round

    def median(self, key: str, attribute: str) -> float:
        return statistics.median(getattr(r, attribute) for r in self.results[key])

    def ratio(self, key: str, reference: str) -> float | None:
        """Median over the rounds of (rate of `key` / rate of `reference` in the same round)."""
        pairs = [a.rps / b.rps for a, b in zip(self.results[key], self.results[reference], strict=True)
                 if b.rps and a.requests]
        return statistics.median(pairs) if pairs else None

    def raw(self, key: str) -> dict[str, Any]:
        found = self.results[key]
        return {"rounds": [r.as_dict() for r in found], "load_average": self.load_average,
                "requests": sum(r.requests for r in found), "errors": sum(r.errors for r in found),
                "exhausted": any(r.exhausted for r in found), "fills": sum(r.fills for r in found),
                "client": found[0].client if found else ""}


def run(client: str, base: str, measures: Sequence[Measure], rounds: int, seconds: float,
        connections: int) -> Rounds:
    results: dict[str, list[load.Result]] = {m.key: [] for m in measures}
    loads = []
    for n in range(rounds):
        loads.append(round(os.getloadavg()[0], 2))
        for m in measures:
            once = bool(m.per_round)
            items = m.per_round[n] if once else m.items
            if not items:
                continue
            results[m.key].append(load.run(client, base, items, m.seconds or seconds, connections, once))
    return Rounds(results, loads)


def split(items: list[load.Item], parts: int) -> list[list[load.Item]]:
    """`parts` slices of single-use items, as even as they go."""
    size, rest = divmod(len(items), parts)
    out, start = [], 0
    for n in range(parts):
        end = start + size + (n < rest)
        out.append(items[start:end])
        start = end
    return out
