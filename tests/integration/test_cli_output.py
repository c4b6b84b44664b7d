"""The CLI's output (issue 15 item 2): `--json` is the API's record, field for field (ISO 8601 UTC
with `Z`); what a person reads shows local times, never a raw isoformat() or `None -> state`."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from rems.asgi import create_app
from rems.bootstrap import App
from rems.cli.main import run
from rems.cli.output import state
from rems.services.access import tokens
from rems.services.context import Context
from tests.conftest import T0

NPI = "1234567893"  # a valid check digit (Luhn over 80840 + the NPI)
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
LOCAL = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} CST")


@pytest.fixture
def chicago(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The operator's machine is in Chicago (UTC-6 in December)."""
    monkeypatch.setenv("TZ", "America/Chicago")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def rems(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], app: App, *args: str) -> str:
    """`rems ARGS` in this process: the real entry point, on the test's database; its stdout."""
    monkeypatch.setattr(state, "app", app)
    monkeypatch.setattr(sys, "argv", ["rems", *args])
    try:
        run()
    except SystemExit as done:
        assert done.code in (0, None), capsys.readouterr()
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return out


def api(app: App, path: str) -> object:
    with app.uow() as uow:
        secret = tokens.issue_token(uow, Context("admin", T0), tokens.IssueToken(
            role="admin", actor_id="ops")).secret
    with TestClient(create_app(app, lambda: T0)) as client:
        answer = client.get(path, headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def certified_prescriber(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], app: App) -> str:
    doc = json.loads(rems(monkeypatch, capsys, app, "--json", "prescriber", "enroll", "--name", "Dr Output",
                          "--npi", NPI, "--attested", "--education-reviewed"))["id"]
    rems(monkeypatch, capsys, app, "--actor", "admin", "prescriber", "certify", doc, "--program", "pomalidomide")
    return str(doc)


def test_json_output_is_the_api_s_record_with_utc_instants(app: App, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    doc = certified_prescriber(monkeypatch, capsys, app)
    shown = json.loads(rems(monkeypatch, capsys, app, "--json", "prescriber", "show", doc))
    assert shown == api(app, f"/v1/admin/prescribers/{doc}")
    assert shown["enrolled_at"].endswith("Z") and shown["certifications"][0]["certified_at"].endswith("Z")
    trail = json.loads(rems(monkeypatch, capsys, app, "--json", "audit", "show", "prescriber", doc))
    assert trail == api(app, f"/v1/admin/audit/prescriber/{doc}")
    assert [entry["to_state"] for entry in trail] == ["enrolled", "certified"]
    assert all(entry["at"].endswith("Z") for entry in trail)


def test_human_output_shows_local_times_and_no_none(app: App, chicago: None, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    doc = certified_prescriber(monkeypatch, capsys, app)
    certified_at = json.loads(rems(monkeypatch, capsys, app, "--json", "prescriber", "show", doc)
                              )["certifications"][0]["certified_at"]
    utc_hour = int(certified_at[11:13])
    shown = rems(monkeypatch, capsys, app, "prescriber", "show", doc)
    trail = rems(monkeypatch, capsys, app, "audit", "show", "prescriber", doc)
    for text in (shown, trail):
        assert LOCAL.search(text) and not ISO.search(text) and "+00:00" not in text, text
        assert "None" not in text, text
    assert int(LOCAL.search(shown)[0][11:13]) == (utc_hour - 6) % 24  # type: ignore[index]
    assert "created as enrolled" in trail and "enrolled -> certified" in trail
