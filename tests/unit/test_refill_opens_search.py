"""R28: `schedule.refill_opens` searches each dispense's own days instead of stepping through every
day of every dispense (issue 14 item 6: the sweep computes it for every patient due); it must give
exactly the answer of the straightforward search over all steps, kept here as the oracle."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rems.domain import schedule
from rems.domain.calendar import day_start, local_date

T0 = datetime(2026, 3, 7, 22, 30, tzinfo=UTC)  # the eve of a DST change in America/Chicago


@dataclass(frozen=True)
class Dispense:
    dispensed_at: datetime
    days_supply: int


def oracle(dispenses: Sequence[Dispense], window_days: int, tz: str) -> datetime | None:
    """The first step, over every step of every dispense, at which on hand is at most the window."""
    if not dispenses:
        return None
    if sum(d.days_supply for d in dispenses) <= window_days:
        return max(d.dispensed_at for d in dispenses)
    steps = sorted({max(d.dispensed_at + k * schedule.DAY,
                        day_start(local_date(d.dispensed_at, tz) + k * schedule.DAY, tz))
                    for d in dispenses for k in range(1, d.days_supply + 1)})
    return next(s for s in steps if schedule.on_hand(dispenses, s, tz) <= window_days)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60 * 24 * 60), st.integers(1, 28)), max_size=6),
       st.integers(0, 10), st.sampled_from(["UTC", "America/Chicago", "Pacific/Kiritimati", "Pacific/Pago_Pago",
                                            "Australia/Lord_Howe"]))
def test_the_search_per_dispense_finds_the_first_step_with_little_enough_on_hand(
        history: list[tuple[int, int]], window_days: int, tz: str) -> None:
    dispenses = [Dispense(T0 + timedelta(minutes=m), supply) for m, supply in history]
    assert schedule.refill_opens(dispenses, window_days, tz) == oracle(dispenses, window_days, tz)
