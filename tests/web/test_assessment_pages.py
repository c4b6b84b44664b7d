"""Issue 18 item 3: the assessment's figures per period, on a page with plots and as CSV; and the
outbox queue filtered and paged like the certification queues."""

from __future__ import annotations

import base64
import csv
import io
import re
from datetime import timedelta

import pytest

from rems.services.commands import RecordDispense, parse
from rems.services.context import Context
from rems.services.dispensing import prescriptions
from rems.services.reminders import notifications
from rems.services.reports import Durations, assessments
from tests.api.conftest import Clock
from tests.api.world import ADMIN, World
from tests.web.conftest import Browser, signed_in


def test_the_median_is_the_middle_and_the_90th_percentile_the_nearest_rank() -> None:
    assert Durations.of([]) == Durations(0, None, None)
    assert Durations.of([5.0]) == Durations(1, 5.0, 5.0)
    assert Durations.of([float(h) for h in range(10, 0, -1)]) == Durations(10, 5.5, 9.0)  # ceil(0.9*10)=9th
    assert Durations.of([float(h) for h in range(1, 21)]) == Durations(20, 10.5, 18.0)  # 18th of 20
    assert Durations.of([1.0, 2.0, 100.0]) == Durations(3, 2.0, 100.0)  # ceil(2.7)=3rd


def _dispensed_after_hours(w: World, clock: Clock) -> dict[str, list[int]]:
    """Ten prescriptions written now; the i-th dispensed i hours later, 1-4 by w.pharm, 5-10 by
    w.other_pharm. Returns the hours per site."""
    numbers = [w.authorization(w.patient(w.doc, "adult_male"), w.doc)[1] for _ in range(10)]
    sites: dict[str, list[int]] = {w.pharm: [], w.other_pharm: []}
    for hours, number in enumerate(numbers, start=1):
        clock.advance(hours=1)
        site = w.pharm if hours <= 4 else w.other_pharm
        w.call(prescriptions.record_dispense, parse(
            RecordDispense, confirmation_number=w.confirmation(number, site), pharmacy_id=site,
            counselled=True, education_checklist_completed=True, medication_guide_given=True))
        sites[site].append(hours)
    return sites


def test_the_assessment_shows_times_to_dispense_by_category_and_site_with_plots(
        browser: Browser, w: World, clock: Clock) -> None:
    _dispensed_after_hours(w, clock)
    signed_in(browser, w, ADMIN)
    page = browser.get("/web/admin/assessment").text
    assert re.search(r'data-testid="dispenses">10<', page)
    assert re.search(r'data-testid="median-all">5.5 h<', page) and re.search(r'data-testid="p90-all">9.0 h<', page)
    category = page[page.index('data-key="adult_male"'):]
    assert re.search(r'data-testid="median">5.5 h<.*?data-testid="p90">9.0 h<', category, re.S)
    one = page[page.index(f'data-key="{w.pharm}"'):]  # hours 1-4: median 2.5, p90 the 4th
    assert re.search(r'data-testid="median">2.5 h<.*?data-testid="p90">4.0 h<', one, re.S)
    other = page[page.index(f'data-key="{w.other_pharm}"'):]  # hours 5-10: 7.5, the 6th (10)
    assert re.search(r'data-testid="median">7.5 h<.*?data-testid="p90">10.0 h<', other, re.S)
    assert re.search(r'data-testid="relaxations">0<', page)  # relaxations: none used in the period
    images = re.findall(r'<img class="plot" src="data:image/png;base64,([^"]+)" alt="([^"]+)"', page)
    assert len(images) == 2 and all(base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n" for data, _ in images)
    assert "adult male 5.5 h and 9.0 h" in images[0][1]


def test_the_assessment_csv_holds_the_same_figures(browser: Browser, w: World, clock: Clock,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _dispensed_after_hours(w, clock)
    monkeypatch.setattr(assessments, "RELAXATIONS_USED", lambda uow, period: {"shortage": 2})
    signed_in(browser, w, ADMIN)
    start, end = (clock.now - timedelta(days=2)).date(), (clock.now + timedelta(days=1)).date()
    response = browser.get(f"/web/admin/assessment.csv?start={start}&end={end}")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == \
        f'attachment; filename="rems-assessment-{start}-{end}.csv"'
    rows = {(r["metric"], r["key"]): r["value"] for r in csv.DictReader(io.StringIO(response.text))}
    assert rows[("dispenses", "all")] == "10"
    assert rows[("hours_to_dispense_median", "all")] == "5.5"
    assert rows[("hours_to_dispense_p90", "all")] == "9.0"
    assert rows[("hours_to_dispense_median_by_site", w.pharm)] == "2.5"
    assert rows[("hours_to_dispense_p90_by_site", w.other_pharm)] == "10.0"
    assert rows[("dispenses_timed_by_category", "adult_male")] == "10"
    assert rows[("relaxations_used", "all")] == "2" and rows[("relaxations_used_by_name", "shortage")] == "2"
    assert rows[("period_start", "all")].startswith(str(start))
    before = browser.get(f"/web/admin/assessment.csv?start={start - timedelta(days=30)}&end={start}")
    assert "hours_to_dispense_median,all,\n" in before.text  # no dispense then: no time


def test_a_bad_assessment_period_is_named_beside_its_field(browser: Browser, w: World) -> None:
    signed_in(browser, w, ADMIN)
    empty = browser.get("/web/admin/assessment").text  # no dispense yet: the figures, no empty plot
    assert re.search(r'data-testid="dispenses">0<', empty) and '<img class="plot"' not in empty
    for path in ("/web/admin/assessment", "/web/admin/assessment.csv"):
        response = browser.get(path, params={"start": "2026-03-02", "end": "2026-03-01"})
        assert response.status_code == 422 and 'id="f-end-error">must be after start' in response.text


def test_the_outbox_is_filtered_by_recipient_and_paged(browser: Browser, w: World, clock: Clock) -> None:
    due = clock().date() + timedelta(days=2)
    reminders = [notifications.Reminder(recipient=f"patient:{w.frp}", kind="test_due_soon", subject=f"s{i}",
                                        due_on=due, rule="R11") for i in range(101)]
    reminders.append(notifications.Reminder(recipient=f"patient:{w.male}", kind="test_due_soon", subject="x",
                                            due_on=due, rule="R11"))
    with w.app.uow() as uow:
        notifications.record(uow, Context("setup", clock()), reminders, frozenset())
        uow.commit()
    signed_in(browser, w, ADMIN)
    first = browser.get("/web/admin/outbox").text.split('id="outbox"', 1)[1]
    assert len(re.findall(r'<tr data-notification="', first)) == 100 and 'rel="next"' in first
    second = browser.get("/web/admin/outbox?page=2").text.split('id="outbox"', 1)[1]
    assert len(re.findall(r'<tr data-notification="', second)) == 2 and 'rel="prev"' in second
    theirs = browser.get(f"/web/admin/outbox?recipient=patient:{w.male}").text.split('id="outbox"', 1)[1]
    assert len(re.findall(r'<tr data-notification="', theirs)) == 1 and "about <code>x</code>" in theirs
    assert browser.get("/web/admin/outbox?page=0").status_code == 422
