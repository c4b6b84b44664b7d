"""T1 on the dashboard: the test form takes the patient's wall-clock time in the zone it names and
stores the right UTC instant; a time in a DST gap or fold is refused beside the field; stored
instants are shown in the patient's zone with its abbreviation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from rems.domain.model import Patient, PregnancyTest
from rems.services.dispensing import prescriptions
from rems.web.zones import shown, to_utc
from tests.api.conftest import Clock
from tests.api.world import World
from tests.web import survey_answers
from tests.web.conftest import Browser, signed_in

NY = "America/New_York"


def _collected(w: World, patient_id: str) -> list[datetime]:
    with w.app.uow() as uow:
        rows = uow.session.scalars(select(PregnancyTest).where(PregnancyTest.patient_id == patient_id))
        return [t.collected_at.replace(tzinfo=t.collected_at.tzinfo or UTC) for t in rows]


def _submit(browser: Browser, w: World, collected_at: str) -> tuple[int, str]:
    page_url = f"/web/prescriber/patients/{w.frp}"
    done = browser.submit(f"{page_url}/tests", {"collected_at": collected_at, "result": "negative",
                                                "sensitivity_miu_per_ml": "25", "setting": "lab"}, page_url)
    return done.status_code, done.text


def test_t1_the_test_form_names_the_patients_zone(browser: Browser, w: World) -> None:
    page = signed_in(browser, w, w.doc).get(f"/web/prescriber/patients/{w.frp}").text
    assert "Collected at (America/New_York)" in page and "(UTC)" not in page
    assert 'data-testid="time-zone">America/New_York<' in page


def test_t1_a_new_york_evening_time_stays_on_its_utc_instant(browser: Browser, w: World) -> None:
    """21:30 EST on 1 March is 02:30Z on 2 March (not 21:30Z, five hours earlier, as "UTC" made it)."""
    signed_in(browser, w, w.doc)
    status, text = _submit(browser, w, "2026-03-01T21:30")  # the clock is 2026-03-02 09:00Z
    assert status == 303, text
    assert _collected(w, w.frp) == [datetime(2026, 3, 2, 2, 30, tzinfo=UTC)]


def test_t1_a_summer_time_uses_the_summer_offset(browser: Browser, w: World, clock: Clock) -> None:
    clock.now = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)  # the cast's tokens last 30 days
    signed_in(browser, w, w.doc)
    assert _submit(browser, w, "2026-03-19T22:15")[0] == 303  # EDT, UTC-4
    assert _collected(w, w.frp) == [datetime(2026, 3, 20, 2, 15, tzinfo=UTC)]


def test_t1_the_patients_own_zone_wins_over_the_programs(browser: Browser, w: World) -> None:
    with w.app.uow() as uow:
        uow.get(Patient, w.frp).time_zone = "America/Los_Angeles"
        uow.commit()
    page = signed_in(browser, w, w.doc).get(f"/web/prescriber/patients/{w.frp}").text
    assert "Collected at (America/Los_Angeles)" in page
    assert _submit(browser, w, "2026-03-01T21:30")[0] == 303  # PST, UTC-8
    assert _collected(w, w.frp) == [datetime(2026, 3, 2, 5, 30, tzinfo=UTC)]


def test_t1_a_time_with_its_own_offset_is_taken_as_given(browser: Browser, w: World) -> None:
    signed_in(browser, w, w.doc)
    assert _submit(browser, w, "2026-03-01T21:30:00+00:00")[0] == 303
    assert _collected(w, w.frp) == [datetime(2026, 3, 1, 21, 30, tzinfo=UTC)]


@pytest.mark.parametrize(("wall", "now", "says"), [
    ("2026-03-08T02:30", datetime(2026, 3, 9, 12, 0, tzinfo=UTC), "does not exist in America/New_York"),
    ("2025-11-02T01:30", datetime(2026, 3, 2, 9, 0, tzinfo=UTC), "happens twice in America/New_York"),
], ids=["spring-forward-gap", "autumn-fold"])
def test_t1_a_local_time_in_a_dst_gap_or_fold_is_refused_beside_the_field(
        browser: Browser, w: World, clock: Clock, wall: str, now: datetime, says: str) -> None:
    clock.now = now
    signed_in(browser, w, w.doc)
    status, text = _submit(browser, w, wall)
    assert status == 422
    assert f'id="f-collected_at-error">{wall[:10]} {wall[11:]} {says}' in text
    assert f'value="{wall}"' in text  # what was typed stays
    assert _collected(w, w.frp) == []


def test_t1_the_hours_around_a_change_are_converted_with_the_offset_in_force() -> None:
    assert to_utc("2026-03-08T01:59", NY, "t") == datetime(2026, 3, 8, 6, 59, tzinfo=UTC)  # EST
    assert to_utc("2026-03-08T03:00", NY, "t") == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)   # EDT
    assert to_utc("2025-11-02T00:59", NY, "t") == datetime(2025, 11, 2, 4, 59, tzinfo=UTC)  # EDT
    assert to_utc("2025-11-02T02:00", NY, "t") == datetime(2025, 11, 2, 7, 0, tzinfo=UTC)   # EST
    assert to_utc("", NY, "t") == "" and to_utc("yesterday", NY, "t") == "yesterday"  # the command refuses


@pytest.mark.parametrize(("moment", "zone", "text"), [
    (datetime(2026, 3, 2, 2, 30, tzinfo=UTC), NY, "2026-03-01 21:30 EST"),
    (datetime(2026, 7, 10, 2, 15, tzinfo=UTC), NY, "2026-07-09 22:15 EDT"),
    ("2026-03-02T02:30:00+00:00", NY, "2026-03-01 21:30 EST"),
    (datetime(2026, 3, 2, 2, 30), NY, "2026-03-01 21:30 EST"),  # naive from the store is UTC
    (datetime(2026, 3, 2, 2, 30, tzinfo=UTC), None, "2026-03-02 02:30 UTC"),
    (datetime(2026, 3, 2, 2, 30, tzinfo=UTC), "Asia/Kolkata", "2026-03-02 08:00 IST"),
    ("2026-03-01", NY, "2026-03-01"),  # a day is already on the patient's calendar
    (None, NY, "—"),
])
def test_t1_a_stored_instant_is_shown_in_the_zone_with_its_abbreviation(moment, zone, text) -> None:
    assert shown(moment, zone) == text


def test_t1_the_authorization_expiry_is_shown_in_the_patients_zone(browser: Browser, w: World) -> None:
    """R23 expiry on the prescriber page: the zone's abbreviation, never a bare UTC figure."""
    signed_in(browser, w, w.doc)
    page_url = f"/web/prescriber/patients/{w.male}"
    w.call(prescriptions.void_prescription, w.rx)  # R36: one open authorization; this test issues one
    done = browser.submit(f"{page_url}/prescriptions", {"days_supply": "28", "quantity": "28"}, page_url)
    survey = f"/web/prescriber/prescriptions/{survey_answers.rx_of(done.headers['location'])}/survey"
    done = browser.submit(survey, survey_answers.PRESCRIBER, survey)  # R19 (issue 16.3)
    result = browser.get(done.headers["location"]).text
    assert 'data-testid="authorization-number">POM-' in result, result
    # issued at 2026-03-02 09:00Z = 04:00 EST, valid 30 days (R23): 2026-04-01 09:00Z = 05:00 EDT
    assert 'data-testid="authorization-expiry">2026-04-01 05:00 EDT<' in result


def test_t1_the_pharmacy_sees_the_confirmation_and_dispense_times_in_the_patients_zone(
        browser: Browser, w: World) -> None:
    signed_in(browser, w, w.pharm)
    confirmed = browser.submit("/web/pharmacy/confirmations", {"number": w.number}, "/web/pharmacy")
    assert confirmed.status_code == 201, confirmed.text
    # R27: issued at 2026-03-02 09:00Z, valid 24 hours: 2026-03-03 09:00Z is 04:00 EST
    assert "before <strong>2026-03-03 04:00 EST</strong>" in confirmed.text
    number = confirmed.text.split('data-testid="confirmation-number">')[1].split("<")[0]
    done = browser.submit("/web/pharmacy/dispenses", {"confirmation_number": number, "counselled": "on",
                                                      "education_checklist_completed": "on",
                                                      "medication_guide_given": "on"}, "/web/pharmacy")
    assert done.status_code == 201 and "days of supply, 2026-03-02 04:00 EST." in done.text
