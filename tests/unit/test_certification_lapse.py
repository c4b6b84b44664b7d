"""R3, R25: a certification lapses the moment its program's interval has passed, even for a one-day
interval (written from REMS_RULES.md: lapsed after `interval` days from certification)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rems.domain.gate import pharmacy_requirement, prescriber_requirement
from tests.unit.builders import T0, certification, days, params


@pytest.mark.parametrize("interval", [1, 2, 30])
def test_a_prescriber_past_a_short_recertification_interval_is_not_certified_r3(interval: int) -> None:
    p = replace(params(), prescriber_recertification_days=interval)
    cert = certification("prescriber", certified_at=T0 - days(interval))
    assert prescriber_requirement(cert, "pomalidomide", p, T0).met  # exactly at the interval
    later = T0 + days(0.001)
    failed = prescriber_requirement(cert, "pomalidomide", p, later)
    assert (failed.met, failed.code) == (False, "R1_PRESCRIBER_NOT_CERTIFIED")


@pytest.mark.parametrize("interval", [1, 2, 730])
def test_a_pharmacy_past_a_short_recertification_interval_has_lapsed_r25(interval: int) -> None:
    p = replace(params(), pharmacy_recertification_days=interval)
    cert = certification("pharmacy", certified_at=T0 - days(interval))
    assert pharmacy_requirement(cert, "pomalidomide", p, T0).met
    failed = pharmacy_requirement(cert, "pomalidomide", p, T0 + days(0.001))
    assert (failed.met, failed.code) == (False, "R25_PHARMACY_LAPSED")


def test_no_interval_means_no_lapse_r3() -> None:
    p = replace(params(), prescriber_recertification_days=0)
    cert = certification("prescriber", certified_at=T0 - days(5000))
    assert prescriber_requirement(cert, "pomalidomide", p, T0).met


def test_a_certification_of_another_program_does_not_count_r1() -> None:
    cert = certification("prescriber", program_id="lenalidomide")
    assert not prescriber_requirement(cert, "pomalidomide", params(), T0).met
    assert not pharmacy_requirement(certification("pharmacy", program_id="lenalidomide"),
                                    "pomalidomide", params(), T0).met
