"""The lab-test evaluator at PROGRAMS.md's boundaries (issue 17 item 1; T1, T2).

Bosentan: ALT and AST before the first prescription, then monthly; above 3 x ULN monitor at least
every 2 weeks; above 5 x ULN, or bilirubin >= 2 x ULN, stop. Clozapine: ANC weekly for 6 months,
every 2 weeks to month 12, then monthly; advisory. Expected answers come from those sentences
(and docs/lab-tests.md's reading of "monthly" as 30 days), not from the code under test.
"""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from rems.domain.labs import (
    LAB_HOLD,
    LAB_INITIAL_MISSING,
    LAB_OVERDUE,
    LAB_STOP,
    lab_requirements,
    next_lab_due,
    treatment_start_of,
)
from rems.domain.model import LabResult
from rems.domain.requirements import Requirement
from tests.unit.labs_examples import rule

NY = "America/New_York"
LIVER, ANC = rule("liver"), rule("anc")
ENFORCED_ANC = dataclasses.replace(ANC, advisory=False)
START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 10:00 in New York, treatment day 0
_ids = itertools.count()


def lab(analyte: str, value: str | int, at: datetime, uln: str | int | None = 40, unit: str = "U/L",
        setting: str = "lab", lower: str | None = None) -> LabResult:
    return LabResult(id=f"lab{next(_ids)}", patient_id="pat", analyte=analyte, value=Decimal(value), unit=unit,
                     upper_limit_normal=None if uln is None else Decimal(uln),
                     lower_limit=None if lower is None else Decimal(lower), collected_at=at, recorded_at=at,
                     setting=setting)


def anc(value: int, at: datetime, unit: str = "cells/uL") -> LabResult:
    return lab("ANC", value, at, uln=None, unit=unit)


def day(n: int, hour: int = 15) -> datetime:
    return START + timedelta(days=n, hours=hour - 15)


def liver(alt: str | int, ast: str | int, at: datetime, uln: str | int = 40) -> list[LabResult]:
    return [lab("ALT", alt, at, uln), lab("AST", ast, at, uln)]


def judged(reqs: list[Requirement]) -> dict[tuple[str, str], bool]:
    """(code, analyte-or-"") -> met; a cadence requirement's message starts with its analyte."""
    found = {}
    for r in reqs:
        analyte = r.message.removeprefix("advisory: ").removeprefix("not met, not enforced: ").split(":")[0] \
            if r.code in (LAB_INITIAL_MISSING, LAB_OVERDUE) else ""
        found[(r.code, analyte)] = r.met
    return found


def evaluate(results: list[LabResult], reference: datetime, started: datetime | None = START,
             lab_rule: object = LIVER) -> dict[tuple[str, str], bool]:
    assert isinstance(lab_rule, type(LIVER))
    reqs = lab_requirements(lab_rule, "BOS2", "C128523", results, started, reference, NY)
    assert {r.rule for r in reqs} == {"BOS2"}
    return judged(reqs)


# -- bosentan: before the first prescription -------------------------------------------------
def test_both_alt_and_ast_are_needed_before_the_first_prescription() -> None:
    only_alt = evaluate([lab("ALT", 30, day(-3))], day(0), started=None)
    assert only_alt[(LAB_INITIAL_MISSING, "ALT")] and not only_alt[(LAB_INITIAL_MISSING, "AST")]
    both = evaluate(liver(30, 30, day(-3)), day(0), started=None)
    assert both[(LAB_INITIAL_MISSING, "ALT")] and both[(LAB_INITIAL_MISSING, "AST")]


def test_an_initial_result_counts_30_days_on_the_patients_calendar_t1() -> None:
    # collected 21:00 in New York on 1 March (02:00 UTC on 2 March)
    results = liver(30, 30, datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    assert evaluate(results, datetime(2026, 3, 31, 23, 0, tzinfo=UTC), started=None)[  # NY 31 March
        (LAB_INITIAL_MISSING, "ALT")]
    assert not evaluate(results, datetime(2026, 4, 1, 12, 0, tzinfo=UTC), started=None)[  # NY 1 April
        (LAB_INITIAL_MISSING, "ALT")]


def test_an_initial_result_above_3x_uln_does_not_qualify_and_exactly_3x_does() -> None:
    assert evaluate(liver(120, 30, day(-1)), day(0), started=None)[(LAB_INITIAL_MISSING, "ALT")]
    assert not evaluate(liver(121, 30, day(-1)), day(0), started=None)[(LAB_INITIAL_MISSING, "ALT")]
    # decimal exactness: 3 x 33.3 = 99.9 is at the limit (a binary float would make it 99.8999...)
    assert evaluate(liver("99.9", 30, day(-1), uln="33.3"), day(0), started=None)[(LAB_INITIAL_MISSING, "ALT")]


def test_a_result_at_home_or_without_its_uln_does_not_count() -> None:
    home = [lab("ALT", 30, day(-1), setting="home"), lab("AST", 30, day(-1))]
    assert not evaluate(home, day(0), started=None)[(LAB_INITIAL_MISSING, "ALT")]
    no_uln = [lab("ALT", 30, day(-1), uln=None), lab("AST", 30, day(-1))]
    assert not evaluate(no_uln, day(0), started=None)[(LAB_INITIAL_MISSING, "ALT")]


# -- bosentan: in treatment --------------------------------------------------------------------
def test_monthly_means_a_result_at_most_30_days_old() -> None:
    results = liver(30, 30, day(5))
    assert evaluate(results, day(35, hour=23))[(LAB_OVERDUE, "AST")]
    late = evaluate(results, day(36))
    assert not late[(LAB_OVERDUE, "ALT")] and not late[(LAB_OVERDUE, "AST")]
    assert next_lab_due(LIVER, results, START, day(6), NY) == date(2026, 3, 7) + timedelta(30)


def test_alt_above_3x_uln_means_monitoring_every_14_days_until_a_result_within_3x() -> None:
    results = liver(121, 30, day(10))
    at_14 = evaluate(results, day(24))
    assert at_14[(LAB_OVERDUE, "ALT")] and at_14[(LAB_OVERDUE, "AST")] and at_14[(LAB_HOLD, "")]
    assert not evaluate(results, day(25))[(LAB_OVERDUE, "AST")]  # both analytes are monitored
    assert next_lab_due(LIVER, results, START, day(11), NY) == date(2026, 3, 12) + timedelta(14)
    normal_again = results + liver(120, 30, day(20))
    assert evaluate(normal_again, day(50))[(LAB_OVERDUE, "ALT")]  # 30 days again
    assert not evaluate(normal_again, day(51))[(LAB_OVERDUE, "ALT")]
    assert not evaluate(results + liver(119, 30, day(5)), day(25))[(LAB_OVERDUE, "ALT")]  # an earlier
    # normal result does not release a later elevation


def test_alt_above_5x_uln_or_bilirubin_at_2x_stops_therapy_and_a_later_normal_result_does_not_lift_it() -> None:
    assert evaluate(liver(200, 30, day(3)), day(4))[(LAB_STOP, "")]  # exactly 5 x 40: not above
    stopped = liver(30, 201, day(3))
    assert not evaluate(stopped, day(4))[(LAB_STOP, "")]
    assert not evaluate(stopped + liver(30, 30, day(10)), day(11))[(LAB_STOP, "")]
    assert evaluate([*liver(30, 30, day(3)), lab("bilirubin", "2.39", day(3), uln="1.2")], day(4))[(LAB_STOP, "")]
    assert not evaluate([*liver(30, 30, day(3)), lab("bilirubin", "2.4", day(3), uln="1.2")], day(4))[
        (LAB_STOP, "")]


def test_a_result_collected_after_the_reference_does_not_count() -> None:
    assert not evaluate(liver(30, 30, day(1)), day(0), started=None)[(LAB_INITIAL_MISSING, "ALT")]


# -- clozapine ---------------------------------------------------------------------------------
def _anc(results: list[LabResult], reference: datetime, started: datetime | None = START) -> dict[
        tuple[str, str], bool]:
    return evaluate(results, reference, started, ENFORCED_ANC)


def test_anc_weekly_to_day_182_then_every_14_days_to_day_365_then_every_30() -> None:
    assert _anc([anc(2000, day(174))], day(181))[(LAB_OVERDUE, "ANC")]
    assert not _anc([anc(2000, day(173))], day(181))[(LAB_OVERDUE, "ANC")]  # 8 days, weekly phase
    assert _anc([anc(2000, day(168))], day(182))[(LAB_OVERDUE, "ANC")]  # 14 days, fortnightly phase
    assert not _anc([anc(2000, day(167))], day(182))[(LAB_OVERDUE, "ANC")]
    assert not _anc([anc(2000, day(349))], day(364))[(LAB_OVERDUE, "ANC")]  # 15 days on day 364
    assert _anc([anc(2000, day(335))], day(365))[(LAB_OVERDUE, "ANC")]  # 30 days, monthly phase
    assert not _anc([anc(2000, day(334))], day(365))[(LAB_OVERDUE, "ANC")]


def test_anc_below_1000_holds_until_a_normal_result_and_below_500_stops() -> None:
    assert _anc([anc(1000, day(1))], day(2))[(LAB_HOLD, "")]
    held = [anc(999, day(1)), anc(1499, day(2))]
    assert not _anc(held, day(3))[(LAB_HOLD, "")]  # 1499 is not normal yet
    assert _anc([*held, anc(1500, day(3))], day(4))[(LAB_HOLD, "")]
    assert _anc([anc(500, day(1))], day(2))[(LAB_STOP, "")]
    assert not _anc([anc(499, day(1))], day(2))[(LAB_STOP, "")]


def test_anc_in_another_unit_does_not_count() -> None:
    assert not _anc([anc(2, day(1), unit="10^9/L")], day(2))[(LAB_OVERDUE, "ANC")]


def test_an_advisory_rule_never_refuses_and_says_what_is_overdue() -> None:
    reqs = lab_requirements(ANC, "CLZ1", None, [anc(400, day(1))], START, day(30), NY)
    assert all(r.met for r in reqs) and all(r.message.startswith("advisory: ") for r in reqs)
    overdue = next(r for r in reqs if r.code == LAB_OVERDUE)
    assert overdue.message.startswith("advisory: not met, not enforced: ANC") and overdue.earliest is None
    enforced = lab_requirements(ENFORCED_ANC, "CLZ1", None, [anc(400, day(1))], START, day(30), NY)
    assert {r.code for r in enforced if not r.met} == {LAB_OVERDUE, LAB_HOLD, LAB_STOP}


def test_treatment_starts_at_the_first_dispense() -> None:
    @dataclasses.dataclass
    class Given:
        dispensed_at: datetime
        days_supply: int = 30
    assert treatment_start_of([]) is None
    assert treatment_start_of([Given(day(40)), Given(day(10))]) == day(10)
