"""The benchmark harness (issues 8, 14) in its smallest mode, end to end on SQLite: it must not rot.

Nothing here is timed: the figures of a --quick run mean nothing. What is checked is that every
row of the table is produced with a figure, that the HTTP loads got answers and not errors (the
tokens, routes and seeded authorizations work), that every ratio is taken against the truly bare
endpoints within the same rounds with the load average of each round, that single-use targets
running out are never padded with `/healthz` answers, that the open-loop phases offer 1x, 2x, 4x
the measured capacity, and that the sweep's due set stays the same as the population grows."""

from __future__ import annotations

import json
from typing import Any

import pytest

from benchmarks import run

EXPECTED = [
    ("1", "truly bare read"), ("1", "the same handler inside the project"), ("1", "project's bare read"),
    ("1", "truly bare durable write"), ("1", "project's bare write"),
    ("2", "gate, pure function"), ("2", "check use case in-process"), ("2", "check over HTTP"),
    ("3", "confirmation over HTTP"), ("3", "dispense over HTTP"),
    ("4", "open loop at 1×"), ("4", "open loop at 2×"), ("4", "open loop at 4×"),
    ("4", "reminder sweep, "), ("4", "reminder sweep, "), ("4", "reminders delivered"),
    ("5", "API worker resident size"), ("5", "2 processes: truly bare read"),
    ("5", "2 processes: check over HTTP"), ("5", "Celery worker resident size"),
]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("bench")
    assert run.main(["--quick", "--databases", "sqlite", "--out", str(out)]) == 0
    assert (out / "overload.png").stat().st_size > 0  # item 4's plot, beside the sweep's
    return json.loads((out / "latest.json").read_text()), (out / "latest.md").read_text()


def test_quick_run_writes_a_table_with_every_row_and_a_figure_in_each(quick_run: tuple[dict[str, Any], str]) -> None:
    document, table = quick_run
    rows = [(r["item"], r["measure"]) for r in document["rows"]]
    for (item, start), (got_item, got) in zip(EXPECTED, rows, strict=True):
        assert got_item == item and got.startswith(start), (item, start, got)
    assert all(r["rate"] is not None and r["rate"] > 0 for r in document["rows"]), document["rows"]
    assert table.count("\n| ") == len(EXPECTED) + 1  # the header and one line per row
    assert {"cores", "cpu", "ram_gib", "python", "date"} <= set(document["machine"])


def _row(document: dict[str, Any], start: str) -> dict[str, Any]:
    return next(r for r in document["rows"] if r["measure"].startswith(start))


def test_quick_run_loads_are_answered_without_errors_round_by_round(
        quick_run: tuple[dict[str, Any], str]) -> None:
    document, _ = quick_run
    http = [r for r in document["rows"] if r["unit"] == "req/s" and "rounds" in r["raw"]]
    assert len(http) == 10
    for row in http:
        assert row["raw"]["requests"] > 0 and row["raw"]["errors"] == 0, row
        assert len(row["raw"]["rounds"]) == 2 and len(row["raw"]["load_average"]) == 2, row
        assert all(r["requests"] > 0 for r in row["raw"]["rounds"]), row
    goals = [r for r in http if r["goal"]]
    assert len(goals) == 4 and all(isinstance(r["met"], bool) for r in goals)
    assert "load average at each round" in _row(document, "truly bare read")["note"]


def test_every_ratio_is_against_the_truly_bare_endpoint_of_the_same_round(
        quick_run: tuple[dict[str, Any], str]) -> None:
    document, _ = quick_run
    for name, reference, old in (("check over HTTP", "truly bare read", "project's bare read"),
                                 ("confirmation", "truly bare durable write", "project's bare write"),
                                 ("dispense", "truly bare durable write", "project's bare write")):
        row, ref, second = _row(document, name), _row(document, reference), _row(document, old)
        per_round = sorted(a["rps"] / b["rps"] for a, b in zip(row["raw"]["rounds"], ref["raw"]["rounds"],
                                                                strict=True))
        assert row["ratio"] == pytest.approx(sum(per_round) / 2), name  # the median of two rounds
        assert row["ratio_old"] is not None and second["ratio"] is not None, name


def test_single_use_targets_that_run_out_are_not_padded_with_healthz(
        quick_run: tuple[dict[str, Any], str]) -> None:
    """Each round's slice of confirmations is sent once: no more answers counted than targets."""
    document, _ = quick_run
    targets = document["stack_sqlite"]["write_targets"]
    for name in ("confirmation", "dispense"):
        raw = _row(document, name)["raw"]
        assert raw["requests"] <= targets // 2, (name, raw)
        assert raw["exhausted"] and raw["fills"] > 0, raw  # the quick run's slices are too small


def test_open_loop_offers_one_two_and_four_times_the_capacity(quick_run: tuple[dict[str, Any], str]) -> None:
    document, _ = quick_run
    capacity = _row(document, "open loop at 1×")["raw"]["capacity_rps"]
    assert capacity > 0
    for multiple in (1, 2, 4):
        raw = _row(document, f"open loop at {multiple}×")["raw"]
        assert raw["capacity_rps"] == capacity
        assert raw["offered_rps"] == pytest.approx(multiple * capacity)
        assert raw["sent"] == round(multiple * capacity * raw["seconds"])
        assert raw["ok"] > 0 and raw["other"] == 0 and raw["timeouts"] == 0, raw
        assert raw["ok"] + raw["refused"] + raw["dropped"] == raw["sent"], raw
    assert "seconds" in _row(document, "open loop at 4×")["raw"]["recovery"]


def test_quick_sweep_finds_the_same_due_set_at_every_population(quick_run: tuple[dict[str, Any], str]) -> None:
    document, _ = quick_run
    points = document["sweep"]["points"]
    assert [p["patients"] for p in points] == [100, 300]
    assert len({p["found"] for p in points}) == 1 and points[0]["found"] >= 30
    assert all(p["enqueued"] == p["found"] for p in points)
    delivery = document["sweep"]["delivery"]
    assert delivery["sent"] == delivery["expected"] == points[-1]["enqueued"]
