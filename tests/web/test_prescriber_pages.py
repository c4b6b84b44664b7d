"""The prescriber's pages: own patients only (R5), enrollment with a PPAF, tests, authorization."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from rems.domain.model import Patient, PregnancyTest, Prescription
from rems.services.commands import RecordPatientSurvey, parse
from rems.services.enrollment import patients
from tests.api.conftest import Clock
from tests.api.world import World
from tests.web import survey_answers
from tests.web.conftest import Browser, signed_in

NEW = "/web/prescriber/patients/new"
FACTS = {"facts.menarche": "yes", "facts.hysterectomy": "no", "facts.bilateral_oophorectomy": "no",
         "facts.postmenopausal": "no"}  # R35: every fact answered


def _local(clock: Clock, ago: timedelta, zone: str = "America/New_York") -> str:
    """What a browser's datetime-local input sends: a wall-clock time in the zone the form names
    (T1: the patient's zone, the program's America/New_York for the cast), no offset."""
    return (clock() - ago).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def test_the_dashboard_lists_own_patients_with_their_gates_and_never_anothers(
        browser: Browser, w: World) -> None:
    page = signed_in(browser, w, w.doc).get("/web/prescriber").text
    assert w.male in page and w.frp in page and w.stranger not in page
    assert 'class="gate unmet"' in page and "R9" in page  # the FRP patient lacks her tests
    assert 'data-testid="prescriber-state-pomalidomide">certified' in page  # R1: per program
    assert "Not certified in bosentan, clozapine, ipledge, lenalidomide, mycophenolate, thalidomide" in page


def test_another_prescribers_patient_is_not_found_for_reading_or_writing_and_audited(
        browser: Browser, w: World, clock: Clock) -> None:
    signed_in(browser, w, w.doc)
    response = browser.get(f"/web/prescriber/patients/{w.stranger}")
    assert response.status_code == 404 and "that you may see" in response.text
    posted = browser.submit(f"/web/prescriber/patients/{w.stranger}/tests", {
        "collected_at": _local(clock, timedelta(hours=1)), "result": "negative",
        "sensitivity_miu_per_ml": "25"}, "/web/prescriber")
    assert posted.status_code == 404
    assert w.count(PregnancyTest) == 0
    assert w.refusals(w.doc).count("AUTH_NOT_FOUND_OR_NOT_YOURS") == 2


def test_enrollment_errors_are_shown_beside_their_field_and_nothing_is_written(
        browser: Browser, w: World) -> None:
    signed_in(browser, w, w.doc)
    before = w.count(Patient)
    good = {"name": "Ann Example", "sex": "female", "birth_date": "1990-01-31", "ppaf.category": "adult_frp",
            "cycles_regular": "on", **FACTS}
    for field, value, reason in (("birth_date", "2099-01-01", "cannot be in the future"),
                                 ("birth_date", "31/01/1990", "valid date"),
                                 ("ppaf.category", "adult_unicorn", "must be one of"),
                                 ("name", "", "at least 1 character"),
                                 ("sex", "other", "&#39;female&#39; or &#39;male&#39;")):
        response = browser.submit(NEW, {**good, field: value}, NEW)
        assert response.status_code == 422, (field, response.text)
        fid = "f-" + field.replace(".", "-")
        error = re.search(rf'<p class="error" id="{fid}-error">([^<]*)</p>', response.text)
        assert error and reason in error.group(1), (field, value)
        assert f'id="{fid}"' in response.text and 'aria-invalid="true"' in response.text
        assert 'value="Ann Example"' in response.text or field == "name"  # what was typed stays
    assert w.count(Patient) == before


def test_a_ppaf_for_the_wrong_category_is_refused_with_the_rule(browser: Browser, w: World) -> None:
    signed_in(browser, w, w.doc)
    response = browser.submit(NEW, {"name": "Bo", "sex": "male", "birth_date": "1980-05-05",
                                    "ppaf.category": "adult_frp"}, NEW)
    assert response.status_code == 409
    assert "R5_PPAF_CATEGORY_MISMATCH" in response.text and "sign a PPAF for the category" in response.text


def test_an_frp_patient_goes_from_enrollment_to_an_authorization_through_the_forms(
        browser: Browser, w: World, clock: Clock) -> None:
    signed_in(browser, w, w.doc)
    response = browser.submit(NEW, {"name": "Frida Example", "sex": "female", "birth_date": "1990-01-31",
                                    "ppaf.category": "adult_frp", "cycles_regular": "on", **FACTS}, NEW)
    assert response.status_code == 303
    page_url = response.headers["location"]
    patient_id = page_url.rsplit("/", 1)[1]
    page = browser.get(page_url).text
    assert 'data-testid="patient-state">active' in page and "R9_EARLY_TEST_MISSING" in page
    assert 'aria-current="true">active</li>' in page  # the enrollment diagram highlights her state
    for ago in (timedelta(days=12), timedelta(hours=1)):
        done = browser.submit(f"{page_url}/tests", {"collected_at": _local(clock, ago), "result": "negative",
                                                    "sensitivity_miu_per_ml": "50", "setting": "lab"}, page_url)
        assert done.status_code == 303, done.text
    w.call(patients.record_patient_survey, parse(RecordPatientSurvey, patient_id=patient_id), actor="patient")
    done = browser.submit(f"{page_url}/prescriptions", {
        "days_supply": "28", "quantity": "21", "contraception_counselling_attested": "on",
        "prescriber_survey_completed": "on"}, page_url)  # issue 16.3: the box is not the survey
    assert done.status_code == 303
    assert 'data-testid="authorization-number">' not in browser.get(done.headers["location"]).text
    survey = f"/web/prescriber/prescriptions/{survey_answers.rx_of(done.headers['location'])}/survey"
    done = browser.submit(survey, survey_answers.PRESCRIBER, survey)  # R19: answered, then the number
    assert done.status_code == 303, done.text
    result = browser.get(done.headers["location"]).text
    number = re.search(r'data-testid="authorization-number">([^<]+)<', result)
    assert number and number.group(1).startswith("POM-")
    # T1: shown in her zone with its abbreviation (the form and the page name the zone)
    assert re.search(r'data-testid="authorization-expiry">\d{4}-\d\d-\d\d \d\d:\d\d E[SD]T<', result)
    assert w.count(Prescription, Prescription.number == number.group(1)) == 1  # type: ignore[arg-type]


def test_an_authorization_without_the_prescriber_survey_shows_r19_and_the_survey_button_issues_it(
        browser: Browser, w: World) -> None:
    signed_in(browser, w, w.doc)
    page_url = f"/web/prescriber/patients/{w.patient(w.doc, 'adult_male')}"  # R36: w.male holds w.rx
    done = browser.submit(f"{page_url}/prescriptions", {"days_supply": "28", "quantity": "28"}, page_url)
    result = browser.get(done.headers["location"]).text
    assert "No authorization number yet" in result and "R19_PRESCRIBER_SURVEY_MISSING" in result
    rx_id = done.headers["location"].split("rx=")[1].split("#")[0]
    assert f'href="/web/prescriber/prescriptions/{rx_id}/survey"' in result  # issue 16.3: its questions
    survey = f"/web/prescriber/prescriptions/{rx_id}/survey"
    done = browser.submit(survey, {"answers.counselled": "true", "answers.supply-limit": "true"}, survey)
    assert 'data-testid="authorization-number">POM-' in browser.get(done.headers["location"]).text


def test_a_test_form_error_keeps_the_typed_values_and_names_the_field(
        browser: Browser, w: World, clock: Clock) -> None:
    signed_in(browser, w, w.doc)
    page_url = f"/web/prescriber/patients/{w.frp}"
    tomorrow = _local(clock, timedelta(days=-1))
    response = browser.submit(f"{page_url}/tests", {"collected_at": tomorrow, "result": "negative",
                                                    "sensitivity_miu_per_ml": "25"}, page_url)
    assert response.status_code == 422
    assert 'id="f-collected_at-error">cannot be in the future' in response.text
    assert f'value="{tomorrow}"' in response.text
    assert w.count(PregnancyTest) == 0


def test_a_new_ppaf_after_a_hysterectomy_moves_the_patient_to_fnrp_and_a_mismatch_is_refused(
        browser: Browser, w: World) -> None:
    signed_in(browser, w, w.doc)
    page_url = f"/web/prescriber/patients/{w.frp}"
    assert '<option value="adult_frp" selected>' in browser.get(page_url).text  # prefilled as today
    surgery = {**FACTS, "facts.hysterectomy": "yes"}
    wrong = browser.submit(f"{page_url}/ppaf", {**surgery, "ppaf.category": "adult_frp"}, page_url)
    assert wrong.status_code == 409 and "R5_PPAF_CATEGORY_MISMATCH" in wrong.text
    done = browser.submit(f"{page_url}/ppaf", {**surgery, "ppaf.category": "adult_fnrp"}, page_url)
    assert done.status_code == 303
    assert 'data-testid="category">adult fnrp<' in browser.get(page_url).text
    with w.app.uow() as uow:
        assert uow.get(Patient, w.frp).hysterectomy is True


def test_the_ppaf_form_answers_no_fact_and_an_unanswered_one_is_named_r35(browser: Browser, w: World) -> None:
    signed_in(browser, w, w.doc)
    page_url = f"/web/prescriber/patients/{w.frp}"
    page = browser.get(page_url).text
    assert 'type="radio"' in page and "checked" not in page.split('id="ppaf"')[1].split("</form>")[0]
    unanswered = {k: v for k, v in FACTS.items() if k != "facts.menarche"}
    response = browser.submit(f"{page_url}/ppaf", {**unanswered, "ppaf.category": "adult_frp"}, page_url)
    assert response.status_code == 422
    assert re.search(r'<p class="error" id="f-facts-menarche-error">Field required</p>', response.text)
    with w.app.uow() as uow:
        assert uow.get(Patient, w.frp).menarche is False  # as enrolled; nothing was written


def test_an_enrolled_girl_keeps_menarche_whatever_the_form_says_r35(browser: Browser, w: World) -> None:
    signed_in(browser, w, w.doc)
    girl = {"name": "Gail Example", "sex": "female", "birth_date": "2013-01-31",
            "ppaf.category": "child_frp", "ppaf.signed_by": "guardian", "ppaf.guardian_name": "A Parent"}
    done = browser.submit(NEW, {**girl, **FACTS}, NEW)
    assert done.status_code == 303
    page_url = done.headers["location"]
    response = browser.submit(f"{page_url}/ppaf", {
        **FACTS, "facts.menarche": "no", "ppaf.category": "child_fnrp", "ppaf.signed_by": "guardian",
        "ppaf.guardian_name": "A Parent"}, page_url)
    assert response.status_code == 422 and 'id="f-facts-menarche-error">was recorded' in response.text
    assert 'data-testid="category">child frp<' in browser.get(page_url).text


def test_the_time_zone_form_changes_it_and_names_a_bad_one_t1(browser: Browser, w: World) -> None:
    signed_in(browser, w, w.doc)
    page_url = f"/web/prescriber/patients/{w.male}"
    bad = browser.submit(f"{page_url}/time-zone", {"time_zone": "Atlantis/Capital"}, page_url)
    assert bad.status_code == 422 and 'id="f-time_zone-error"' in bad.text
    assert browser.submit(f"{page_url}/time-zone", {"time_zone": "Asia/Tokyo"}, page_url).status_code == 303
    assert 'data-testid="time-zone">Asia/Tokyo<' in browser.get(page_url).text
