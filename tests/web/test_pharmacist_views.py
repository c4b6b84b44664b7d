"""Issue 18.1: what the pharmacist sees — whom and what an authorization is for, the unmet
requirements first with who acts and when, each missing R29 item named, the worklist of open
confirmations with R27's time left, the dispense history (searched, paged) and the receipt.

Expected answers come from the rules text (R12: on hold until a new negative test; R27: a
confirmation is valid 24 hours; R29: three checklist items) and from the records set up here."""

from __future__ import annotations

import re

from rems.domain.model import Dispense, Patient, Prescriber
from rems.services.commands import RecordDispense, parse
from rems.services.dispensing import prescriptions
from rems.services.enrollment import patients
from tests.api.conftest import Clock
from tests.api.world import World
from tests.web.conftest import Browser, signed_in

HOME = "/web/pharmacy"
CHECKLIST = {"counselled": "on", "education_checklist_completed": "on", "medication_guide_given": "on"}


def _record(w: World, cls: type, key: str) -> object:
    with w.app.uow() as uow:
        found = uow.get(cls, key)
        uow.session.expunge_all()
        return found


def _dispense(w: World, confirmation: str, pharmacy: str) -> None:
    w.call(prescriptions.record_dispense, parse(
        RecordDispense, confirmation_number=confirmation, pharmacy_id=pharmacy, counselled=True,
        education_checklist_completed=True, medication_guide_given=True))


def test_the_check_shows_whom_and_what_and_puts_the_unmet_first_with_who_acts(
        browser: Browser, w: World) -> None:
    w.frp_ready()
    _, number = w.authorization(w.frp, w.doc)
    w.call(patients.report_missed_period, w.frp, w.doc)  # R12: on hold until a new negative test
    patient, doctor = _record(w, Patient, w.frp), _record(w, Prescriber, w.doc)
    assert isinstance(patient, Patient) and isinstance(doctor, Prescriber)
    page = signed_in(browser, w, w.pharm).submit(f"{HOME}/check", {"number": number}, HOME).text

    assert f'data-testid="patient-name">{patient.name}<' in page
    assert f'data-testid="patient-birth-date">{patient.birth_date.isoformat()}<' in page
    assert 'data-testid="patient-category">Adult female of reproductive potential<' in page  # R5a
    assert f"{doctor.name} · NPI {doctor.npi}" in page
    assert 'data-testid="drug">pomalidomide (PS-Pomalidomide REMS)<' in page
    assert 'data-testid="quantity">28<' in page and 'data-testid="days-supply">28<' in page

    unmet = re.findall(r'<li class="unmet" data-rule="([^"]+)" data-code="([^"]+)"', page)
    assert unmet == [("R12", "R12_PATIENT_ON_HOLD")]
    assert page.index('class="unmet"') < page.index('<details class="met-fold"')  # unmet first, met folded
    block = page[page.index('class="unmet"'):page.index('<details class="met-fold"')]
    assert 'data-testid="who">the prescriber<' in block  # R12: a new negative test, ordered by her
    assert re.search(r'data-testid="earliest">[^<]+<', block)
    met = re.findall(r'<li class="met" data-rule="([^"]+)" data-code="([^"]+)"', page)
    assert len(met) >= 5 and {code for _, code in met} == {"MET"}  # 18.7: no failure code on a met one
    assert "Obtain a confirmation number" not in page and "obtain a confirmation number</button>" not in page


def test_an_incomplete_checklist_is_refused_naming_each_missing_item_r29(browser: Browser, w: World) -> None:
    confirmation = w.confirmation(w.number, w.pharm)
    signed_in(browser, w, w.pharm)
    refused = browser.submit(f"{HOME}/dispenses", {"confirmation_number": confirmation, "counselled": "on"}, HOME)
    assert refused.status_code == 409 and w.count(Dispense) == 0
    missing = re.search(r'data-testid="missing-checklist">(.*?)</ul>', refused.text, re.S)
    assert missing
    items = re.findall(r"<li>([^<]+)</li>", missing.group(1))
    assert items == ["The education checklist is completed", "The Medication Guide was handed over"]
    none = browser.submit(f"{HOME}/dispenses", {"confirmation_number": confirmation}, HOME)
    assert len(re.findall(r"<li>", re.search(r'data-testid="missing-checklist">(.*?)</ul>', none.text,
                                                re.S).group(1))) == 3  # type: ignore[union-attr]


def test_the_worklist_lists_own_open_confirmations_with_the_time_left_r27(
        browser: Browser, w: World, clock: Clock) -> None:
    mine = w.confirmation(w.number, w.pharm)
    theirs = w.confirmation(w.stranger_number, w.other_pharm)
    clock.advance(minutes=90)  # R27: 24 hours from issue, 22 h 30 min left
    page = signed_in(browser, w, w.pharm).get(HOME).text
    assert "Open confirmations (1)" in page
    row = re.search(rf'<tr data-confirmation="{mine}">(.*?)</tr>', page, re.S)
    assert row and 'data-testid="time-left">22 h 30 min<' in row.group(1)
    assert theirs not in page
    clock.advance(hours=23)  # past R27's window, not yet swept: shown as expired
    # a new sign-in: the idle (15 min) and absolute (12 h) session limits have passed (18.4)
    assert 'data-testid="time-left">expired<' in signed_in(browser, w, w.pharm).get(HOME).text


def test_the_dispense_history_pages_and_searches_in_sql_and_shows_only_own(
        browser: Browser, w: World, clock: Clock) -> None:
    made = []
    for _ in range(27):
        patient = w.patient(w.doc, "adult_male")
        _, number = w.authorization(patient, w.doc)
        confirmation = w.confirmation(number, w.pharm)
        _dispense(w, confirmation, w.pharm)
        made.append((patient, number, confirmation))
        clock.advance(minutes=5)
    _dispense(w, w.confirmation(w.stranger_number, w.other_pharm), w.other_pharm)
    signed_in(browser, w, w.pharm)

    first = browser.get(f"{HOME}/dispenses").text
    assert 'data-testid="count">Showing 1–25 of <strong>27</strong>' in first
    second = browser.get(f"{HOME}/dispenses?page=2").text
    assert "Showing 26–27 of <strong>27</strong>" in second
    rows = re.findall(r'<tr data-dispense="([^"]+)">', first) + re.findall(r'<tr data-dispense="([^"]+)">', second)
    assert len(rows) == len(set(rows)) == 27
    assert made[-1][2] in first.split("<tbody>")[1].split("</tr>")[0]  # newest first
    assert made[0][2] in second
    assert w.stranger_number not in first + second

    patient, number, confirmation = made[3]
    name = _record(w, Patient, patient).name  # type: ignore[attr-defined]
    for search in (patient, number, confirmation):
        found = browser.get(f"{HOME}/dispenses", params={"q": search}).text
        assert "Showing 1–1 of <strong>1</strong>" in found and confirmation in found
    by_name = browser.get(f"{HOME}/dispenses", params={"q": name.upper()}).text  # case-insensitive
    assert confirmation in by_name
    assert "None match" in browser.get(f"{HOME}/dispenses", params={"q": w.stranger_number}).text
    assert "None match" in browser.get(f"{HOME}/dispenses", params={"q": "100%_"}).text  # LIKE escaped
    assert browser.get(f"{HOME}/dispenses?page=abc&size=7").status_code == 200  # a bad page is page 1


def test_the_receipt_prints_the_confirmation_then_the_dispense_and_is_the_pharmacys_own(
        browser: Browser, w: World) -> None:
    confirmation = w.confirmation(w.number, w.pharm)
    signed_in(browser, w, w.pharm)
    before = browser.get(f"{HOME}/receipts/{confirmation}")
    assert before.status_code == 200 and "<h1>Confirmation" in before.text
    assert f'data-testid="receipt-confirmation">{confirmation}<' in before.text
    assert "Times in America/New_York" in before.text and re.search(r"\d{2}:\d{2} E[SD]T", before.text)
    done = browser.submit(f"{HOME}/dispenses", {"confirmation_number": confirmation, **CHECKLIST}, HOME)
    assert done.status_code == 201 and f'href="{HOME}/receipts/{confirmation}"' in done.text
    after = browser.get(f"{HOME}/receipts/{confirmation}").text
    assert "<h1>Dispense receipt" in after and 'data-testid="receipt-dispensed">' in after
    theirs = w.confirmation(w.stranger_number, w.other_pharm)
    assert browser.get(f"{HOME}/receipts/{theirs}").status_code == 404  # R25: another pharmacy's
    css = browser.get("/web/static/style.css").text
    assert "@media print" in css and ".top" in css.split("@media print")[1]
