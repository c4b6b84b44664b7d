"""The log line format and the scrubber (issue 15 item 3): JSON, the request id on each line, and
no bound value where drivers and libraries put them."""

from __future__ import annotations

import json
import logging

import pytest
from celery import signals
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from rems.adapters.database import make_engine
from rems.logs import JsonFormatter, request_id, scrub


def _record(message: str, exc: BaseException | None = None) -> logging.LogRecord:
    info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("rems.test", logging.ERROR, __file__, 1, message, (), info)


@pytest.mark.parametrize("leak", [
    "[parameters: ('pat_1', 'Zelda Quixotic', datetime.date(1987, 3, 14))]",
    "DETAIL:  Key (name_key, birth_date, sex)=(zelda quixotic, 1987-03-14, female) already exists.",
    "DETAIL:  Failing row contains (pat_1, Zelda Quixotic, female, 1987-03-14).",
    "new row violates check constraint\nFailing row contains (Zelda Quixotic, 1987-03-14)",
    "1 validation error for X\nname\n  String too long [type=string_too_long, input_value='Zelda Quixotic']",
])
def test_the_scrubber_removes_every_value_a_driver_or_library_echoes(leak: str) -> None:
    scrubbed = scrub(f"boom\n{leak}\n(Background on this error at: https://sqlalche.me/e/20/x)")
    assert "Zelda" not in scrubbed and "zelda" not in scrubbed and "1987" not in scrubbed
    assert scrubbed.startswith("boom\n") and "[scrubbed]" in scrubbed and "Background" in scrubbed


def test_a_line_is_json_with_the_request_id_and_a_scrubbed_traceback() -> None:
    engine = create_engine("sqlite://", hide_parameters=False)  # the scrubber alone
    name = "Zelda Quixotic"  # a traceback quotes the failing source line: keep the value off it
    with pytest.raises(DBAPIError) as raised, engine.connect() as connection:
        connection.execute(text("INSERT INTO missing VALUES (:name)"), {"name": name})
    token = request_id.set("req-42")
    try:
        line = json.loads(JsonFormatter("api").format(_record("failed", raised.value)))
    finally:
        request_id.reset(token)
    assert (line["request_id"], line["process"], line["level"], line["error"]) == (
        "req-42", "api", "ERROR", "OperationalError")
    assert line["at"].endswith("Z") and "no such table: missing" in line["traceback"]
    assert "Zelda" not in json.dumps(line)


@pytest.mark.parametrize("url", ["sqlite:///unused.db", "postgresql+psycopg://u:p@127.0.0.1:1/db"])
def test_every_engine_hides_bound_parameters(url: str) -> None:
    engine = make_engine(url)  # connects to nothing
    assert engine.hide_parameters
    engine.dispose()


def test_a_celery_task_s_lines_carry_its_id() -> None:
    import workers.app  # noqa: F401  (connects the signals, as a worker does at start)
    signals.task_prerun.send(sender=None, task_id="abc123")
    try:
        assert request_id.get() == "task-abc123"
    finally:
        signals.task_postrun.send(sender=None, task_id="abc123")
    assert request_id.get() is None


def test_state_machine_callbacks_do_not_fill_the_log(capsys: pytest.CaptureFixture[str]) -> None:
    """transitions' INFO line per callback is noise beside the audit log; its warnings still show."""
    from rems.logs import configure
    before = logging.getLogger().handlers, logging.getLogger().level
    try:
        configure("api")
        logging.getLogger("transitions.core").info("Finished processing state authorized exit callback")
        logging.getLogger("transitions.core").warning("a callback failed")
        err = capsys.readouterr().err
    finally:
        logging.getLogger().handlers, _ = before
        logging.getLogger().setLevel(before[1])
    assert "Finished processing" not in err and "a callback failed" in err
