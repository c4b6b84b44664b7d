"""Generated lab histories against an oracle written from PROGRAMS.md's sentences (issue 17 item 1).

The oracle counts whole days (every result collected at 15:00 UTC, the same date in New York) and
re-states the rules directly: bosentan liver tests (ALT and AST each at most 30 days old before the
first prescription and within 3 x ULN; in treatment at most 30 days old, 14 while a result above
3 x ULN has no result within 3 x ULN after it; a result above 5 x ULN, or bilirubin at 2 x ULN or
more, stops) and clozapine ANC enforced (at least 1500 to start within 7 days; weekly to day 182,
fortnightly to day 365, then every 30 days; below 1000 holds until 1500 or more; below 500 stops).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from rems.domain.labs import (
    LAB_HOLD,
    LAB_INITIAL_MISSING,
    LAB_OVERDUE,
    LAB_STOP,
    lab_requirements,
    next_lab_due,
)
from rems.domain.model import LabResult
from tests.unit.labs_examples import rule

NY = "America/New_York"
LIVER, ANC = rule("liver"), dataclasses.replace(rule("anc"), advisory=False)
ORIGIN = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
Row = tuple[str, int, int, int]  # analyte, value, ULN, day (distinct days per analyte)


def _results(rows: list[Row], unit: str) -> list[LabResult]:
    return [LabResult(id=f"lab{i}", patient_id="p", analyte=a, value=Decimal(v), unit=unit,
                      upper_limit_normal=Decimal(u), lower_limit=None,
                      collected_at=ORIGIN + timedelta(days=d, seconds=i), recorded_at=ORIGIN,
                      setting="lab") for i, (a, v, u, d) in enumerate(rows)]


def _latest(rows: list[Row], analyte: str, today: int) -> Row | None:
    mine = [(r[3], i, r) for i, r in enumerate(rows) if r[0] == analyte and r[3] <= today]
    return max(mine)[2] if mine else None


def _seen(rows: list[Row], today: int) -> list[Row]:
    return sorted((r for r in rows if r[3] <= today), key=lambda r: (r[3], rows.index(r)))


def liver_oracle(rows: list[Row], start: int | None, today: int) -> dict[tuple[str, str], bool]:
    seen = _seen(rows, today)
    held = False
    for analyte in ("ALT", "AST"):
        mine = [r for r in seen if r[0] == analyte]
        high = [i for i, r in enumerate(mine) if r[1] > 3 * r[2]]
        if high and not any(r[1] <= 3 * r[2] for r in mine[high[-1] + 1:]):
            held = True
    stop = any((r[0] in ("ALT", "AST") and r[1] > 5 * r[2]) or (r[0] == "bilirubin" and r[1] >= 2 * r[2])
               for r in seen)
    found: dict[tuple[str, str], bool] = {}
    for analyte in ("ALT", "AST"):
        latest = _latest(rows, analyte, today)
        if start is None:
            found[(LAB_INITIAL_MISSING, analyte)] = latest is not None and today - latest[3] <= 30 \
                and latest[1] <= 3 * latest[2]
        else:
            found[(LAB_OVERDUE, analyte)] = latest is not None and today - latest[3] <= (14 if held else 30)
    return {**found, (LAB_HOLD, ""): True, (LAB_STOP, ""): not stop}


def anc_oracle(rows: list[Row], start: int | None, today: int) -> dict[tuple[str, str], bool]:
    seen = [r for r in _seen(rows, today) if r[0] == "ANC"]
    low = [i for i, r in enumerate(seen) if r[1] < 1000]
    held = bool(low) and not any(r[1] >= 1500 for r in seen[low[-1] + 1:])
    latest = seen[-1] if seen else None
    if start is None:
        first = (LAB_INITIAL_MISSING, "ANC"), latest is not None and today - latest[3] <= 7 and latest[1] >= 1500
    else:
        treatment_day = today - start
        every = 7 if treatment_day < 182 else 14 if treatment_day < 365 else 30
        first = (LAB_OVERDUE, "ANC"), latest is not None and today - latest[3] <= every
    return {first[0]: first[1], (LAB_HOLD, ""): not held, (LAB_STOP, ""): not any(r[1] < 500 for r in seen)}


def _judged(lab_rule: object, rows: list[Row], unit: str, start: int | None, today: int) -> dict[
        tuple[str, str], bool]:
    assert isinstance(lab_rule, type(LIVER))
    started = None if start is None else ORIGIN + timedelta(days=start, hours=-1)
    reqs = lab_requirements(lab_rule, "X1", None, _results(rows, unit), started,
                            ORIGIN + timedelta(days=today, hours=2), NY)
    return {(r.code, r.message.split(":")[0] if r.code in (LAB_INITIAL_MISSING, LAB_OVERDUE) else ""): r.met
            for r in reqs}


def _rows(analytes: list[str], values: st.SearchStrategy[int], ulns: st.SearchStrategy[int],
          days: int) -> st.SearchStrategy[list[Row]]:
    row = st.tuples(st.sampled_from(analytes), values, ulns, st.integers(0, days))
    return st.lists(row, max_size=8).map(lambda rows: list({(r[0], r[3]): r for r in rows}.values()))


STARTS = st.one_of(st.none(), st.integers(0, 60))


@settings(max_examples=300, deadline=None, database=None)
@given(rows=_rows(["ALT", "AST", "bilirubin"], st.one_of(st.integers(0, 260), st.sampled_from([119, 120, 121, 200, 201])), st.sampled_from([1, 20, 40, 55]), 90),
       start=STARTS, today=st.integers(0, 120))
def test_liver_rule_agrees_with_the_oracle(rows: list[Row], start: int | None, today: int) -> None:
    if start is not None:
        today = max(today, start)
    assert _judged(LIVER, rows, "U/L", start, today) == liver_oracle(rows, start, today)


ANC_VALUES = st.sampled_from([0, 400, 499, 500, 999, 1000, 1499, 1500, 4000])
# treatment days around the phase changes (182, 365) as often as anywhere else
TREATMENT_DAYS = st.one_of(st.integers(0, 400), st.sampled_from([181, 182, 183, 364, 365, 366]))


@settings(max_examples=400, deadline=None, database=None)
@given(ages=st.lists(st.tuples(ANC_VALUES, st.integers(0, 35)), max_size=6),
       start=st.one_of(st.none(), st.integers(0, 30)), treatment_day=TREATMENT_DAYS)
def test_anc_rule_agrees_with_the_oracle(ages: list[tuple[int, int]], start: int | None,
                                         treatment_day: int) -> None:
    today = (start or 0) + treatment_day
    rows: list[Row] = list({today - age: ("ANC", value, 1, today - age) for value, age in ages}.values())
    assert _judged(ANC, rows, "cells/uL", start, today) == anc_oracle(rows, start, today)


@settings(max_examples=200, deadline=None, database=None)
@given(rows=_rows(["ANC"], st.sampled_from([1500, 4000, 900]), st.just(1), 400).filter(bool),
       start=st.integers(0, 30))
def test_next_lab_due_is_the_last_day_the_cadence_is_met(rows: list[Row], start: int) -> None:
    today = max(start, max(r[3] for r in rows))
    reference = ORIGIN + timedelta(days=today, hours=2)
    started = ORIGIN + timedelta(days=start, hours=-1)
    due = next_lab_due(ANC, _results(rows, "cells/uL"), started, reference, NY)
    last_ok = (due - ORIGIN.date()).days
    assert anc_oracle(rows, start, last_ok)[(LAB_OVERDUE, "ANC")]
    assert not anc_oracle(rows, start, last_ok + 1)[(LAB_OVERDUE, "ANC")]
