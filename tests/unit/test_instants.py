"""T1: every time input carries an offset and is kept in UTC; one whose offset pushes it outside the
calendar is refused naming the field (it used to be a 500 on the patient's calendar)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rems.domain.errors import InvalidInput
from rems.services.commands import RecordPregnancyTest, parse


def _test(collected_at: str) -> RecordPregnancyTest:
    return parse(RecordPregnancyTest, patient_id="pat_1", collected_at=collected_at, result="negative",
                 sensitivity_miu_per_ml=25)


def test_an_instant_with_an_offset_is_kept_in_utc() -> None:
    assert _test("2026-03-01T21:30:00-05:00").collected_at == datetime(2026, 3, 2, 2, 30, tzinfo=UTC)


@pytest.mark.parametrize("value", ["2026-03-01T21:30:00", "0001-01-01T00:00:00+00:01",
                                   "9999-12-31T23:59:59-00:01"])
def test_an_instant_without_an_offset_or_off_the_calendar_is_refused_by_name(value: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        _test(value)
    assert refused.value.field == "collected_at"
