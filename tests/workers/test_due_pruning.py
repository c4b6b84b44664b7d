"""The sweep reads only the dispenses that can still move R28's opening (issue 14 item 6): leaving
the used-up ones out never changes `schedule.refill_opens`, for any history, window and zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rems.domain import schedule
from rems.services.reminders.due_patients import still_counting

T0 = datetime(2026, 3, 7, 22, 30, tzinfo=UTC)  # the eve of a DST change in America/Chicago


@dataclass(frozen=True)
class Dispense:
    dispensed_at: datetime
    days_supply: int


histories = st.lists(st.tuples(st.integers(0, 40 * 24 * 60), st.integers(1, 28)), min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@given(histories, st.integers(0, 10), st.sampled_from(["UTC", "America/Chicago", "Pacific/Kiritimati",
                                                       "Pacific/Pago_Pago"]))
def test_leaving_used_up_dispenses_out_never_moves_the_refill_opening(
        history: list[tuple[int, int]], window_days: int, tz: str) -> None:
    dispenses = sorted((Dispense(T0 + timedelta(minutes=m), supply) for m, supply in history),
                       key=lambda d: d.dispensed_at)
    kept = still_counting(dispenses, window_days)
    assert schedule.refill_opens(kept, window_days, tz) == schedule.refill_opens(dispenses, window_days, tz)


def test_a_long_history_is_cut_to_what_is_still_on_hand() -> None:
    dispenses = [Dispense(T0 + timedelta(days=28 * k), 28) for k in range(12)]
    assert still_counting(dispenses, 7) == dispenses[-2:]  # the one before: a day of rounding
    assert still_counting(dispenses[:1], 7) == dispenses[:1]
    short = [*dispenses, Dispense(T0 + timedelta(days=28 * 12), 5)]  # the latest within the window
    assert still_counting(short, 7) == short
