"""The benchmark harness (issue 8) in its smallest mode, end to end on SQLite: it must not rot.

Nothing here is timed: the figures of a --quick run mean nothing. What is checked is that every
row of the table is produced with a figure, that the HTTP loads got answers and not errors (the
tokens, routes and seeded authorizations work), and that the sweep's due set stays the same as
the population grows (the premise of item 4)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from benchmarks import run

EXPECTED = [
    ("1", "gate, pure function"), ("1", "check use case in-process"),
    ("2", "check over HTTP"), ("2", "bare read"),
    ("3", "confirmation over HTTP"), ("3", "dispense over HTTP"), ("3", "bare write"),
    ("4", "reminder sweep, "), ("4", "reminder sweep, "), ("4", "reminders delivered"),
    ("5", "API worker resident size"), ("5", "Celery worker resident size"),
]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("bench")
    assert run.main(["--quick", "--databases", "sqlite", "--out", str(out)]) == 0
    return json.loads((out / "latest.json").read_text()), (out / "latest.md").read_text()


def test_quick_run_writes_a_table_with_every_row_and_a_figure_in_each(quick_run: tuple[dict[str, Any], str]) -> None:
    document, table = quick_run
    rows = [(r["item"], r["measure"]) for r in document["rows"]]
    for (item, start), (got_item, got) in zip(EXPECTED, rows, strict=True):
        assert got_item == item and got.startswith(start), (item, start, got)
    assert all(r["rate"] is not None and r["rate"] > 0 for r in document["rows"]), document["rows"]
    assert table.count("\n| ") == len(EXPECTED) + 1  # the header and one line per row
    assert {"cores", "cpu", "ram_gib", "python", "date"} <= set(document["machine"])


def test_quick_run_loads_are_answered_without_errors(quick_run: tuple[dict[str, Any], str]) -> None:
    document, _ = quick_run
    http = [r for r in document["rows"] if r["unit"] == "req/s"]
    assert len(http) == 5
    for row in http:
        assert row["raw"]["requests"] > 0 and row["raw"]["errors"] == 0, row
    ratios = [r for r in http if r["ratio"] is not None]
    assert len(ratios) == 3 and all(isinstance(r["met"], bool) for r in ratios)


def test_quick_sweep_finds_the_same_due_set_at_every_population(quick_run: tuple[dict[str, Any], str]) -> None:
    document, _ = quick_run
    points = document["sweep"]["points"]
    assert [p["patients"] for p in points] == [100, 300]
    assert len({p["found"] for p in points}) == 1 and points[0]["found"] >= 30
    assert all(p["enqueued"] == p["found"] for p in points)
    delivery = document["sweep"]["delivery"]
    assert delivery["sent"] == delivery["expected"] == points[-1]["enqueued"]
