"""Issue 18.2: the prescriber's office finds the patient who needs action among many — the
needs-action list first, then every patient paged, searched, filtered and sorted in SQL, with
counts and no silent cap; each patient's histories; the duplicate person said plainly; times in
a named zone.

Oracles: the patients set up here (names and states read back from the database, filtered in
Python), and the rules text (R11: weekly tests for the first 4 weeks of treatment; R12: on hold;
R19: no number without the survey; R23: a male's authorization is valid 30 days; R34)."""

from __future__ import annotations

import re

from sqlalchemy import select

from rems.adapters import orm
from rems.domain.model import Patient
from rems.services.commands import RecordDispense, parse
from rems.services.dispensing import prescriptions
from rems.services.enrollment import patients
from tests.api.conftest import Clock
from tests.api.world import World
from tests.web.conftest import Browser, signed_in

HOME = "/web/prescriber"
ROW = re.compile(r'<tr data-patient="([^"]+)">')


def _names(w: World, prescriber: str) -> dict[str, str]:
    with w.app.uow() as uow:
        t = orm.patients.c
        return dict(uow.session.execute(select(t.id, t.name).where(t.prescriber_id == prescriber)).all())


def _section(page: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}">(.*?)</table>', page, re.S)
    return found.group(1) if found else ""


def test_every_patient_is_reachable_page_by_page_with_counts_and_no_cap(browser: Browser, w: World) -> None:
    for _ in range(30):
        w.patient(w.doc, "adult_male")
    names = _names(w, w.doc)
    assert len(names) == 32  # w.male, w.frp and the 30
    signed_in(browser, w, w.doc)
    seen: list[str] = []
    for number in (1, 2):
        page = browser.get(HOME, params={"page": str(number)}).text
        seen += ROW.findall(_section(page, "patients"))
    assert "Showing 1–25 of <strong>32</strong>" in browser.get(HOME).text
    assert len(seen) == len(set(seen)) == 32 and set(seen) == set(names)  # no overlap, none missing
    assert seen == sorted(names, key=lambda key: (names[key], key))  # sorted by name, then id
    assert w.stranger not in seen
    fifty = browser.get(HOME, params={"size": "50"}).text
    assert len(ROW.findall(_section(fifty, "patients"))) == 32 and "Page 1 of" not in fifty
    with w.app.uow() as uow:
        t = orm.patients.c
        enrolled = dict(uow.session.execute(select(t.id, t.enrolled_at).where(t.prescriber_id == w.doc)).all())
    newest = ROW.findall(_section(browser.get(HOME, params={"sort": "-enrolled", "size": "50"}).text, "patients"))
    assert newest == sorted(enrolled, key=lambda key: (-enrolled[key].timestamp(), key))


def test_search_and_filters_narrow_the_list_and_the_counts_follow(browser: Browser, w: World) -> None:
    for _ in range(3):
        w.patient(w.doc, "adult_male")
    w.frp_ready()
    w.call(patients.report_missed_period, w.frp, w.doc)  # R12: on hold
    names = _names(w, w.doc)
    signed_in(browser, w, w.doc)
    some = names[w.male]
    term = some.split()[-1][:1]  # a digit that several "Patient N" names share
    expected = {key for key, name in names.items() if term in name.lower()}
    found = browser.get(HOME, params={"q": term, "size": "100"}).text
    assert set(ROW.findall(_section(found, "patients"))) == expected
    assert f"of <strong>{len(expected)}</strong>" in found
    by_id = browser.get(HOME, params={"q": w.frp}).text
    assert ROW.findall(_section(by_id, "patients")) == [w.frp]
    held = browser.get(HOME, params={"state": "on_hold"}).text
    assert ROW.findall(_section(held, "patients")) == [w.frp]
    assert '<option value="on_hold" selected>On hold (R12) (1)</option>' in held
    assert f'<option value="active" >Active ({len(names) - 1})</option>' in held
    frp = browser.get(HOME, params={"category": "adult_frp"}).text
    assert ROW.findall(_section(frp, "patients")) == [w.frp]
    assert "None match" in browser.get(HOME, params={"q": w.stranger}).text  # R5: not theirs
    assert "None match" in browser.get(HOME, params={"q": "%"}).text  # LIKE wildcards are literal
    assert browser.get(HOME, params={"state": "nonsense", "sort": "x", "page": "-3"}).status_code == 200


def test_the_needs_action_list_comes_first_and_says_why(browser: Browser, w: World, clock: Clock) -> None:
    w.frp_ready()
    _, number = w.authorization(w.frp, w.doc)
    confirmation = w.confirmation(number, w.pharm)
    w.call(prescriptions.record_dispense, parse(
        RecordDispense, confirmation_number=confirmation, pharmacy_id=w.pharm, counselled=True,
        education_checklist_completed=True, medication_guide_given=True))  # treatment starts: weekly tests
    waiting = w.patient(w.doc, "adult_male")
    w.authorization(waiting, w.doc, survey=False)  # R19: kept as requested, no number
    quiet = w.patient(w.doc, "adult_male")
    signed_in(browser, w, w.doc)

    page = browser.get(HOME).text
    assert page.index('id="needs"') < page.index('id="patients"')
    needs = _section(page, "needs-action")
    assert ROW.findall(needs) == [waiting]
    assert 'data-reason="refused"' in needs

    clock.advance(days=5)  # R11: weekly; the last test was 5 days ago, due within the 3-day lead
    needs = _section(signed_in(browser, w, w.doc).get(HOME).text, "needs-action")
    assert re.search(rf'data-patient="{w.frp}">.*?data-reason="test_due"', needs, re.S)
    clock.advance(days=3)  # 8 days: overdue
    page = signed_in(browser, w, w.doc).get(HOME).text
    needs = _section(page, "needs-action")
    assert re.search(rf'data-patient="{w.frp}">.*?data-reason="test_overdue"', needs, re.S)
    assert not re.search(rf'data-patient="{w.frp}">.*?data-reason="test_due"', needs.split("</tr>")[0], re.S)
    assert ROW.findall(needs)[0] == w.frp  # the most urgent first
    clock.advance(days=20)  # 28 days after issue: w.male's authorization expires within 3 days (R23: 30)
    needs = _section(signed_in(browser, w, w.doc).get(HOME).text, "needs-action")
    assert re.search(rf'data-patient="{w.male}">.*?data-reason="expiring"', needs, re.S)
    assert quiet not in needs and w.stranger not in needs
    assert 'data-need="refused">' in page and "Needs action (2)" in page


def test_the_patient_page_shows_test_survey_and_dispense_history(browser: Browser, w: World) -> None:
    w.frp_ready()
    _, number = w.authorization(w.frp, w.doc)
    w.call(prescriptions.record_dispense, parse(
        RecordDispense, confirmation_number=w.confirmation(number, w.pharm), pharmacy_id=w.pharm,
        counselled=True, education_checklist_completed=True, medication_guide_given=True))
    page = signed_in(browser, w, w.doc).get(f"{HOME}/patients/{w.frp}").text
    tests = re.search(r'data-testid="test-history">(.*?)</ul>', page, re.S)
    assert tests and len(re.findall(r"<li>", tests.group(1))) == 2 and "negative" in tests.group(1)
    assert re.search(r'data-testid="survey-history"><li>[^<]+E[SD]T by the patient', page)
    assert re.search(r'data-testid="dispense-history"><li>[^<]+E[SD]T: 28 days of supply', page)
    assert "History (times in America/New_York)" in page
    gates = page[page.index('id="gates"'):page.index('id="due"')]
    met = re.findall(r'<li class="met" data-rule="[^"]+" data-code="([^"]+)"', gates)
    assert met and set(met) == {"MET"}  # 18.7: a met gate carries the neutral code
    assert "R20_PATIENT_SURVEY_DUE" in gates  # R20: one survey per prescription, due again after the dispense


def test_enrolling_the_same_person_again_is_refused_plainly_r34(browser: Browser, w: World) -> None:
    with w.app.uow() as uow:
        known = uow.get(Patient, w.male)
        name, born = known.name, known.birth_date.isoformat()
    signed_in(browser, w, w.doc)
    before = w.count(Patient)
    response = browser.submit(f"{HOME}/patients/new", {
        "name": f"  {name.upper()} ", "sex": "male", "birth_date": born, "ppaf.category": "adult_male"},
        f"{HOME}/patients/new")
    assert response.status_code == 409 and w.count(Patient) == before
    box = re.search(r'data-testid="duplicate-person">(.*?)If this is a different person', response.text, re.S)
    assert box and "already known to the program" in box.group(1) and "R34" in box.group(1)
    assert "transfer the patient to you" in box.group(1) and "the program administrator" in box.group(1)


def test_office_times_are_in_the_zone_chosen_and_named_t1(browser: Browser, w: World) -> None:
    signed_in(browser, w, w.doc)
    assert 'data-testid="office-zone">America/New_York<' in browser.get(HOME).text  # the program's
    chosen = browser.submit(f"{HOME}/zone", {"office_zone": "America/Chicago"}, HOME)
    assert chosen.status_code == 303
    page = browser.get(HOME).text
    assert 'data-testid="office-zone">America/Chicago<' in page
    assert re.search(r"certified</strong> since \d{4}-\d{2}-\d{2} \d{2}:\d{2} C[SD]T", page)
    bad = browser.submit(f"{HOME}/zone", {"office_zone": "Mars/Olympus"}, HOME)
    assert bad.status_code == 422 and "office_zone" in bad.text


def test_the_needs_action_list_pages_too_and_counts_every_one(browser: Browser, w: World) -> None:
    waiting = set()
    for _ in range(27):
        patient = w.patient(w.doc, "adult_male")
        w.authorization(patient, w.doc, survey=False)  # R19: kept as requested
        waiting.add(patient)
    signed_in(browser, w, w.doc)
    first = browser.get(HOME).text
    assert "Needs action (27)" in first and 'data-need="refused">' in first
    assert re.search(r'data-need="refused">[^<]+<strong>27</strong>', first)
    second = browser.get(HOME, params={"urgent": "2"}).text
    rows = ROW.findall(_section(first, "needs-action")) + ROW.findall(_section(second, "needs-action"))
    assert len(rows) == len(set(rows)) == 27 and set(rows) == waiting
    assert "Showing 26–27 of 27" in second
