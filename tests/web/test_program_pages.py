"""Issue 17 items 4, 5, 6, 9 in the dashboard, on SQLite and PostgreSQL: the programs list with
their lifecycle state today, a recorded change (reason, confirmation), a relaxation activated by
one administrator and approved by another (never the same), the reconciliation list paged in SQL,
and a new version's diff. Expected answers from docs/lifecycle.md and the candidate files below."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from rems.asgi import create_app
from rems.domain.lifecycle import ProgramStatusChange, RelaxationActivation, WaiverUse
from tests.api.conftest import Clock
from tests.api.world import ADMIN, World
from tests.web.conftest import Browser, signed_in
from workflows.program import PROGRAM_DIR
from workflows.relaxations import RelaxationSpec

PAGE = "/web/admin/programs/pomalidomide"
SECOND_ADMIN = "ops-admin-2"
POMALIDOMIDE = (PROGRAM_DIR / "pomalidomide.toml").read_text(encoding="utf-8")
# A version that tests adult males for pregnancy from 2027-01-01 (R9 for every category).
MALE_TESTS = POMALIDOMIDE + ('\n[[requirements]]\nkind = "lab_test"\nid = "male-tests"\nanalyte = "hCG"\n'
                             'rule = "R9"\napplies_to = ["adult_male"]\nfda_code = "C128523"\n'
                             'effective_from = 2027-01-01\n')
PORTAL = RelaxationSpec("portal_down", "the REMS portal is down", frozenset({"R26"}), 4, 24)

# The program file's forms line: a copy under another id drops it (the forms' ids carry the program's).
FORMS_LINE = next(line for line in (PROGRAM_DIR / "pomalidomide.toml").read_text(encoding="utf-8")
                  .splitlines(keepends=True) if line.startswith("questionnaires ="))


@pytest.fixture
def admin(browser: Browser, w: World) -> Browser:
    w.app.programs["pomalidomide"] = dataclasses.replace(w.app.programs["pomalidomide"], relaxations=(PORTAL,))
    return signed_in(browser, w, ADMIN)


def test_the_list_shows_every_program_with_its_state_and_requirements_and_is_admin_only(
        admin: Browser, w: World, client: TestClient, clock: Clock) -> None:
    page = admin.get("/web/admin/programs")
    assert page.status_code == 200
    for program_id, program in w.app.programs.items():
        assert f'id="program-{program_id}"' in page.text
        assert f'data-count="{len(program.requirements)}"' in page.text
    assert re.search(r'id="program-pomalidomide" data-state="active"', page.text)
    assert 'href="/web/admin/programs">Programs</a>' in page.text  # linked from the admin nav
    with TestClient(create_app(w.app, clock), follow_redirects=False) as other:
        doctor = signed_in(Browser(other), w, w.doc)
        assert doctor.get("/web/admin/programs").status_code == 403
        assert doctor.get(PAGE).status_code == 403


def test_the_program_page_shows_the_requirement_table_and_an_unknown_program_is_404(admin: Browser) -> None:
    page = admin.get(PAGE).text
    # R9: pomalidomide's pregnancy tests are for females of reproductive potential (R5a), not males.
    row = re.search(r'<tr data-requirement="[^"]+" data-in-force="yes">\s*<td[^>]*><code>[^<]+</code> lab test'
                    r'.*?</tr>', page, re.S)
    assert row and ">R9<" in row.group() and "C128523" in row.group() and "adult_frp" in row.group()
    assert "adult_male" not in row.group()
    assert admin.get("/web/admin/programs/nowhere").status_code == 404


def test_a_lifecycle_change_needs_a_reason_and_a_confirmation_then_shows_on_the_list(
        admin: Browser, w: World) -> None:
    form = {"state": "enforcement_discretion", "effective_from": "2026-03-02", "reason": ""}
    missing = admin.submit(f"{PAGE}/status", form, PAGE)
    assert missing.status_code == 422 and 'id="f-reason-error"' in missing.text
    asked = admin.submit(f"{PAGE}/status", {**form, "reason": "FDA letter of 2026-03-01"}, PAGE)
    assert asked.status_code == 200 and 'name="confirmed" value="yes"' in asked.text
    assert w.count(ProgramStatusChange) == 0  # nothing until confirmed
    done = admin.submit(f"{PAGE}/status", {**form, "reason": "FDA letter of 2026-03-01", "confirmed": "yes"}, PAGE)
    assert done.status_code == 303 and done.headers["location"].startswith(PAGE)
    assert w.count(ProgramStatusChange) == 1
    listed = admin.get("/web/admin/programs").text
    assert 'id="program-pomalidomide" data-state="enforcement_discretion"' in listed
    assert "FDA letter of 2026-03-01 (admin:ops-admin)" in listed
    history = admin.get(PAGE).text
    assert 'data-history-state="enforcement_discretion"' in history and "admin:ops-admin" in history
    backwards = admin.submit(f"{PAGE}/status", {"state": "closed_to_new_enrollment", "effective_from": "2026-03-03",
                                                "reason": "x", "confirmed": "yes"}, PAGE)
    assert backwards.status_code == 409 and 'data-code="LIFECYCLE_NOT_FORWARD"' in backwards.text


def test_a_form_without_the_csrf_token_is_refused(admin: Browser, w: World) -> None:
    response = admin.client.post(f"{PAGE}/status", data={"state": "eliminated", "effective_from": "2026-03-02",
                                                         "reason": "x", "confirmed": "yes"})
    assert response.status_code == 403 and w.count(ProgramStatusChange) == 0


def _activation_id(page: str) -> str:
    found = re.search(r'data-activation="(rlx_[0-9a-f]+)"', page)
    assert found, page
    return found.group(1)


def test_a_relaxation_is_activated_by_one_administrator_and_approved_by_another(
        admin: Browser, w: World, clock: Clock) -> None:
    done = admin.submit(f"{PAGE}/relaxations/portal_down/activate", {"reason": "portal outage", "hours": "12"}, PAGE)
    assert done.status_code == 303, done.text
    page = admin.get(PAGE).text
    act = _activation_id(page)
    assert 'data-state="awaiting approval"' in page and "admin:ops-admin (you)" in page
    assert f"/activations/{act}/approve" not in page  # no button for one's own activation
    self_approval = admin.submit(f"{PAGE}/activations/{act}/approve", {}, PAGE)
    assert self_approval.status_code == 409 and 'data-testid="self-approval"' in self_approval.text
    assert "You activated this relaxation, so you cannot approve it" in self_approval.text

    w.token("admin", SECOND_ADMIN)
    with TestClient(create_app(w.app, clock), follow_redirects=False) as other:
        second = signed_in(Browser(other), w, SECOND_ADMIN)
        seen = second.get(PAGE).text
        assert f"/activations/{act}/approve" in seen and "admin:ops-admin<br>" in seen  # who activated
        assert second.submit(f"{PAGE}/activations/{act}/approve", {}, PAGE).status_code == 303
    with w.app.uow() as uow:
        approved = uow.get(RelaxationActivation, act)
        assert approved.approved_by == f"admin:{SECOND_ADMIN}" and approved.in_force(clock.now)
        assert approved.ends_at == clock.now + timedelta(hours=12)
    assert 'data-state="in force"' in admin.get(PAGE).text
    assert admin.submit(f"{PAGE}/activations/{act}/revoke", {}, PAGE).status_code == 303
    assert 'data-state="revoked"' in admin.get(PAGE).text


def test_activation_refuses_hours_over_the_declared_cap_beside_the_field(admin: Browser, w: World) -> None:
    bad = admin.submit(f"{PAGE}/relaxations/portal_down/activate", {"reason": "outage", "hours": "25"}, PAGE)
    assert bad.status_code == 422 and 'id="f-hours-portal_down-error"' in bad.text
    assert w.count(RelaxationActivation) == 0


def test_the_reconciliation_list_is_paged_in_sql_and_filtered_by_waiver(
        admin: Browser, w: World, clock: Clock) -> None:
    with w.app.uow() as uow:
        for n in range(53):
            uow.add(WaiverUse(id=f"wvu_{n:012x}", program_id="pomalidomide", prescription_id=w.rx,
                              stage="check", waiver="portal_down" if n % 2 else "enforcement_discretion",
                              codes=["R26_CONFIRMATION_INVALID"], actor="pharmacy:x",
                              at=clock.now + timedelta(minutes=n), activation_id=None))
        uow.commit()
    first = admin.get(f"{PAGE}/uses").text
    assert first.count("data-use=") == 50 and "Page 1 of 2 (53 in all)" in first
    assert 'data-use="wvu_000000000034"' in first  # newest first: n = 52
    second = admin.get(f"{PAGE}/uses?page=2").text
    assert second.count("data-use=") == 3 and 'data-use="wvu_000000000000"' in second
    only = admin.get(f"{PAGE}/uses?waiver=portal_down").text
    assert only.count('data-waiver="portal_down"') == 26 and 'data-waiver="enforcement_discretion"' not in only
    assert admin.get(f"{PAGE}/uses?page=x").status_code == 422


def test_the_diff_page_shows_who_would_be_refused_on_the_date(admin: Browser, w: World) -> None:
    form = admin.get(f"{PAGE}/diff")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token
    pasted = admin.client.post(f"{PAGE}/diff", data={"csrf": token.group(1), "toml": MALE_TESTS})
    assert pasted.status_code == 200, pasted.text
    # w.male holds an open authorization: a new pregnancy-test requirement refuses it (R9).
    row = re.search(rf'<tr data-patient="{w.male}" data-subject="{w.number}" data-outcome="([^"]+)">(.*?)</tr>',
                    pasted.text, re.S)
    assert row and row.group(1) == "refused on the date" and "R9_EARLY_TEST_MISSING" in row.group(2)
    assert "On 2027-01-01:" in pasted.text
    uploaded = admin.client.post(f"{PAGE}/diff", data={"csrf": token.group(1), "on": "2027-02-01"},
                                 files={"file": ("pomalidomide.toml", MALE_TESTS.encode(), "application/toml")})
    assert uploaded.status_code == 200 and "On 2027-02-01:" in uploaded.text
    assert f'data-patient="{w.male}" data-subject="{w.number}" data-outcome="refused on the date"' in uploaded.text


def test_the_diff_page_names_a_malformed_field_and_a_wrong_id(admin: Browser) -> None:
    token = admin.csrf(f"{PAGE}/diff")
    bad = admin.client.post(f"{PAGE}/diff", data={"csrf": token, "toml": MALE_TESTS.replace(
        'rule = "R9"\napplies_to = ["adult_male"]', 'rule = "R9"\napplies_to = ["martians"]')})
    assert bad.status_code == 422 and re.search(r'data-field="requirements\[\d+\]\.applies_to"', bad.text)
    assert "martians" in bad.text  # the pasted text is kept, to correct it
    other = admin.client.post(f"{PAGE}/diff", data={"csrf": token, "toml": POMALIDOMIDE.replace(
        'id = "pomalidomide"', 'id = "lenalidomide"', 1).replace(FORMS_LINE, "")})
    assert other.status_code == 422 and 'data-field="id"' in other.text
    unsigned = admin.client.post(f"{PAGE}/diff", data={"toml": MALE_TESTS})
    assert unsigned.status_code == 403
