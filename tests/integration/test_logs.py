"""Logs that hold no patient (issue 15 item 3): a patient write fails inside the database, through
a real server process and through the CLI, on both stores, and every line each one wrote (the
server's stderr included: uvicorn's own report of the failure) is searched for the patient's name
and birth date. Each line is JSON and names the request it belongs to."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from rems.bootstrap import App
from tests.api.world import World

ROOT = Path(__file__).resolve().parents[2]
NAME, BIRTH = "Zelda Quixotic-Marlowe", "1987-03-14"
# Every way the name or the date may be written: ISO, SQLAlchemy's repr, US, compact, any case.
SECRETS = re.compile(r"zelda|quixotic|marlowe|1987-03-14|1987, 3, 14|03/14/1987|19870314", re.IGNORECASE)


def _fault(app: App) -> str:
    """The next patient row fails inside the database: on PostgreSQL a trigger raising with the row
    in its DETAIL (the name and birth date, which hide_parameters does not cover; a 500), on
    SQLite a trigger writing to a missing table (a 503). Returns the error's type."""
    with app.engine.begin() as connection:
        if app.engine.dialect.name == "postgresql":
            connection.execute(text(
                "CREATE FUNCTION ops_fault() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION 'provoked' USING DETAIL = 'row: ' || NEW::text; END $$"))
            connection.execute(text("CREATE TRIGGER ops_fault BEFORE INSERT ON patients "
                                    "FOR EACH ROW EXECUTE FUNCTION ops_fault()"))
            return "ProgrammingError"  # psycopg's RaiseException
        connection.execute(text("CREATE TRIGGER ops_fault BEFORE INSERT ON patients "
                                "BEGIN INSERT INTO ops_missing VALUES (1); END"))
        return "OperationalError"


def _lines(text_: str) -> list[dict[str, Any]]:
    """Every non-empty line, each of which must be one JSON object."""
    return [json.loads(line) for line in text_.splitlines() if line.strip()]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def server(app: App, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port, log = _free_port(), tmp_path / "server.stderr"
    env = {**os.environ, "REMS_DATABASE_URL": app.engine.url.render_as_string(hide_password=False),
           "REMS_ENV": "test"}
    with log.open("w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "rems.cli", "serve", "--port", str(port)],
                                   env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            yield url, log
        finally:
            process.terminate()
            process.wait(timeout=20)


def test_a_failing_patient_write_through_the_api_logs_no_name_or_birth_date(
        app: App, server: tuple[str, Path]) -> None:
    url, log = server
    w = World(app, lambda: datetime.now(UTC))
    doc = w.prescriber()
    error = _fault(app)
    response = httpx.post(f"{url}/v1/prescriber/patients", timeout=30, headers={
        **w.auth(doc), "X-Request-ID": "req-failing-write"}, json={
        "name": NAME, "sex": "male", "birth_date": BIRTH, "ppaf": {"category": "adult_male"}})
    assert response.status_code == (500 if error == "ProgrammingError" else 503)
    assert not SECRETS.search(response.text)
    time.sleep(0.5)  # the server writes its report of the failure after the response
    written = log.read_text()
    assert not SECRETS.search(written), [line for line in written.splitlines() if SECRETS.search(line)]
    lines = _lines(written)
    assert all("request_id" in line for line in lines)
    failed = [line for line in lines if line["request_id"] == "req-failing-write" and line["level"] in ("WARNING", "ERROR")]
    assert failed and {line["error"] for line in failed} == {error}  # logged, and scrubbed
    access = [line for line in lines if line["logger"] == "rems.access" and line["request_id"] == "req-failing-write"]
    assert [a["message"].split()[:3] for a in access] == [
        ["POST", "/v1/prescriber/patients", str(response.status_code)]]


def test_a_failing_patient_write_through_the_cli_logs_no_name_or_birth_date(app: App) -> None:
    doc = World(app, lambda: datetime.now(UTC)).prescriber()
    error = _fault(app)
    env = {**os.environ, "REMS_DATABASE_URL": app.engine.url.render_as_string(hide_password=False),
           "REMS_ENV": "test"}
    done = subprocess.run([sys.executable, "-m", "rems.cli", "patient", "enroll", "--prescriber", doc,
                           "--name", NAME, "--sex", "male", "--birth-date", BIRTH, "--category", "adult_male"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 6
    assert not SECRETS.search(done.stdout + done.stderr), done.stdout + done.stderr
    logged = [line for line in done.stderr.splitlines() if line.startswith("{")]
    line, = (json.loads(line) for line in logged)
    assert (line["level"], line["error"], line["process"]) == ("ERROR", error, "cli")
    assert line["request_id"].startswith("cli-") and "[SQL:" in line["message"]
