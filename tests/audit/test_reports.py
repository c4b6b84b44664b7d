"""The reports on a seeded population match the figures counted while seeding it (issue 6)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rems.services import reports
from rems.services.context import Context
from tests.audit.population import PERIOD, Expected, seed
from tests.service.builders import Scenario


@pytest.fixture
def seeded(scenario: Scenario) -> tuple[Scenario, Expected]:
    return scenario, seed(scenario)


def _run(s: Scenario, service: object, *args: object) -> object:
    with s.app.uow() as uow:
        return service(uow, Context("auditor", s.now), *args)  # type: ignore[operator]


def test_the_period_summary_matches_what_happened(seeded: tuple[Scenario, Expected]) -> None:
    s, e = seeded
    summary = _run(s, reports.period_summary, PERIOD)
    assert isinstance(summary, reports.PeriodSummary)
    assert summary.as_of == s.now
    assert (summary.dispenses, summary.dispenses_by_category) == (sum(e.dispenses.values()), dict(e.dispenses))
    assert summary.authorizations_issued == sum(e.issued.values())
    assert summary.authorizations_expired_unused == e.expired_unused
    assert (summary.refusals, summary.refusals_by_stage) == (sum(e.refusals.values()), dict(e.refusals))
    assert summary.refusals_by_rule == dict(e.rules)
    assert summary.pregnancy_tests_overdue == e.overdue
    assert (summary.pregnancies_reported, summary.pregnancies_by_source) == (1, dict(e.pregnancies))
    lines = reports.summary_csv(summary).splitlines()
    assert lines[0] == "metric,key,value"
    assert f"refusals,all,{sum(e.refusals.values())}" in lines
    assert f"pregnancy_test_overdue,{e.ids['frp1']},1" in lines


def test_a_period_before_it_all_is_empty_and_the_plots_count_the_same(
        seeded: tuple[Scenario, Expected]) -> None:
    s, e = seeded
    before = reports.Period.of(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))
    summary = _run(s, reports.period_summary, before)
    assert isinstance(summary, reports.PeriodSummary)
    assert (summary.dispenses, summary.refusals, summary.authorizations_issued,
            summary.authorizations_expired_unused, summary.pregnancies_reported) == (0, 0, 0, 0, 0)
    series = _run(s, reports.activity_series, PERIOD, 7)
    assert isinstance(series, reports.ActivitySeries)
    assert len(series.buckets) == 9 and series.buckets[0] == PERIOD.start
    assert sum(series.dispenses) == sum(e.dispenses.values())
    assert {rule: sum(v) for rule, v in series.refusals_by_rule.items()} == dict(e.rules)
    for kind in reports.KINDS:
        assert reports.plot_png(series, kind).startswith(b"\x89PNG\r\n\x1a\n")


def test_per_prescriber_and_per_pharmacy_compliance(seeded: tuple[Scenario, Expected]) -> None:
    s, e = seeded
    rows = _run(s, reports.prescriber_compliance, PERIOD)
    assert isinstance(rows, list)
    by_id = {r.prescriber_id: r for r in rows}
    assert set(by_id) == {e.ids["a"], e.ids["b"], e.ids["c"]}
    for key in ("a", "b", "c"):
        row, pid = by_id[e.ids[key]], e.ids[key]
        assert (row.authorizations_issued, row.refusals, row.late_surveys, row.certification_lapses) == (
            e.issued[pid], e.refusals_by_prescriber[pid], e.late_surveys[pid], e.lapses[pid]), key
        assert row.certified == (key != "c")
    rows = _run(s, reports.pharmacy_compliance, PERIOD)
    assert isinstance(rows, list)
    by_id = {r.pharmacy_id: r for r in rows}
    for key in ("p1", "p2", "p3"):
        row, pid = by_id[e.ids[key]], e.ids[key]
        assert (row.dispenses, row.refusals, row.certification_lapses, row.certified) == (
            e.dispenses_by_pharmacy[pid], e.refusals_by_pharmacy[pid], e.lapses[pid], key != "p3"), key
    text = reports.records_csv(rows, reports.PharmacyCompliance).splitlines()
    assert text[0] == "pharmacy_id,state,dispenses,refusals,certification_lapses,certified"
    assert len(text) == 1 + len(rows)


def test_a_patients_history_is_the_audit_trail_in_order(seeded: tuple[Scenario, Expected]) -> None:
    s, e = seeded
    history = _run(s, reports.patient_history, e.ids["m3"])
    assert isinstance(history, reports.PatientHistory)
    assert [(h.entity, h.trigger) for h in history.entries] == [
        ("patient", "enroll"), ("patient_survey", "complete"), ("prescription", "request"),
        ("prescription", "authorize"), ("prescription", "confirm"), ("confirmation", "issue"),
        ("gate", "dispense_refused"), ("prescription", "dispense"), ("confirmation", "use"),
        ("patient_survey", "complete")]
    assert history.entries[6].rules == ["R29_COUNSELLING_INCOMPLETE"]
    seqs = [h.seq for h in history.entries]
    assert seqs == sorted(seqs) and [h.at for h in history.entries] == sorted(h.at for h in history.entries)
