"""Issue 17 items 6 and 9 over HTTP, on SQLite and PostgreSQL: `POST /v1/admin/programs/{id}/diff`
(a new version before it takes effect), the programs list and the requirement table. Expected
answers from the candidate files written here and the rules: adding pregnancy tests for adult
males (R9) refuses an authorized male on the version's date; nothing is written."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from rems.asgi import create_app
from rems.bootstrap import App
from rems.domain.model import AuditEntry
from tests.api.conftest import Clock
from tests.api.world import ADMIN, World
from workflows.program import PROGRAM_DIR

P = "/v1/admin/programs/pomalidomide"
POMALIDOMIDE = (PROGRAM_DIR / "pomalidomide.toml").read_text(encoding="utf-8")
MALE_TESTS = POMALIDOMIDE + ('\n[[requirements]]\nkind = "lab_test"\nid = "male-tests"\nanalyte = "hCG"\n'
                             'rule = "R9"\napplies_to = ["adult_male"]\nfda_code = "C128523"\n'
                             'effective_from = 2027-01-01\n')


@pytest.fixture
def w(app: App) -> World:
    """The API tests' cast, on each test database (the `app` fixture: SQLite and PostgreSQL)."""
    return World(app, Clock()).cast()


@pytest.fixture
def http(w: World) -> Iterator[TestClient]:
    with TestClient(create_app(w.app, w.clock)) as client:
        yield client


def test_a_candidate_that_tests_males_refuses_an_authorized_male_on_its_date(http: TestClient, w: World) -> None:
    before = w.count(AuditEntry)
    answer = http.post(f"{P}/diff", headers=w.auth(ADMIN), json={"toml": MALE_TESTS})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["on"] == "2027-01-01"  # the candidate's first change after today
    mine = {c["subject"]: c for c in body["changes"] if c["patient_id"] == w.male}
    assert mine[w.number]["outcome"] == "refused on the date" and mine[w.number]["stage"] == "confirm"
    assert "R9_EARLY_TEST_MISSING" in mine[w.number]["newly_failing"]
    assert mine["readiness"]["outcome"] == "refused on the date"
    assert body["counts"]["refused on the date"] >= 2
    assert sum(body["counts"].values()) == body["checks"]
    assert w.count(AuditEntry) == before  # a read


def test_a_date_can_be_named_and_before_it_nothing_changes(http: TestClient, w: World) -> None:
    answer = http.post(f"{P}/diff", headers=w.auth(ADMIN), json={"toml": MALE_TESTS, "on": "2026-12-31"}).json()
    assert answer["on"] == "2026-12-31" and answer["changes"] == []
    assert answer["counts"]["unchanged"] == answer["checks"] > 0


def test_a_malformed_file_is_422_naming_the_files_field(http: TestClient, w: World) -> None:
    bad = http.post(f"{P}/diff", headers=w.auth(ADMIN), json={"toml": MALE_TESTS.replace(
        'applies_to = ["adult_male"]', 'applies_to = ["martians"]')})
    assert bad.status_code == 422, bad.text
    problem = bad.json()
    assert problem["field"].startswith("requirements[") and problem["field"].endswith("].applies_to")
    assert "risk categories" in problem["detail"] and "candidate.toml" in problem["detail"]
    syntax = http.post(f"{P}/diff", headers=w.auth(ADMIN), json={"toml": "id = 'pomalidomide"})
    assert syntax.status_code == 422 and syntax.json()["field"] == "(file)"
    big = http.post(f"{P}/diff", headers=w.auth(ADMIN), json={"toml": "#" * (256 * 1024 + 1)})
    assert big.status_code == 422 and big.json()["field"] == "toml"


def test_a_candidate_for_another_program_is_422(http: TestClient, w: World) -> None:
    other = (PROGRAM_DIR / "lenalidomide.toml").read_text(encoding="utf-8")
    wrong = http.post(f"{P}/diff", headers=w.auth(ADMIN), json={"toml": other})
    assert wrong.status_code == 422 and wrong.json()["field"] == "id"
    assert "lenalidomide" in wrong.json()["detail"]


def test_the_diff_and_the_program_reads_are_admin_only(http: TestClient, w: World) -> None:
    for actor in (w.doc, w.pharm, w.male):
        assert http.post(f"{P}/diff", headers=w.auth(actor), json={"toml": MALE_TESTS}).status_code == 403
        assert http.get("/v1/admin/programs", headers=w.auth(actor)).status_code == 403
    assert http.post(f"{P}/diff", json={"toml": MALE_TESTS}).status_code == 401


def test_the_list_and_the_requirement_table(http: TestClient, w: World) -> None:
    listed = {p["program"]: p for p in http.get("/v1/admin/programs", headers=w.auth(ADMIN)).json()}
    assert set(listed) == set(w.app.programs)
    poma = listed["pomalidomide"]
    assert poma["state"] == "active" and poma["requirements"] == len(w.app.programs["pomalidomide"].requirements)
    table = http.get(f"{P}/requirements", headers=w.auth(ADMIN)).json()
    tests = next(r for r in table["requirements"] if r["kind"] == "lab_test")
    # R9 (R5a): pomalidomide tests females of reproductive potential only.
    assert (tests["rule"], tests["fda_code"], tests["applies_to"]) == ("R9", "C128523", "adult_frp, child_frp")
    assert tests["in_force_today"] and table["ok"]
    assert http.get("/v1/admin/programs/nowhere/requirements", headers=w.auth(ADMIN)).status_code == 404
