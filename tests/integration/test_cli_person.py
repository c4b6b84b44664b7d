"""The person's commands as a user runs them (R34, R35, T1): real processes on a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.integration.test_cli import rems

FACTS = ("--no-menarche", "--no-hysterectomy", "--no-oophorectomy", "--postmenopausal-since", "none")


def _json(db: Path, *args: str, code: int = 0) -> Any:
    done = rems(db, "--json", "--actor", "admin", *args)
    assert done.returncode == code, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    return json.loads(done.stdout)


def _prescriber(db: Path, npi: str) -> str:
    key: str = _json(db, "prescriber", "enroll", "--name", f"Dr {npi}", "--npi", npi, "--attested",
                     "--education-reviewed")["id"]
    for program in ("pomalidomide", "lenalidomide"):  # R1: certification is per program
        _json(db, "prescriber", "certify", key, "--program", program)
    return key


def test_a_female_is_enrolled_and_renewed_only_with_every_fact_stated_r35(db: Path) -> None:
    doc = _prescriber(db, "1234567893")
    enroll = ("patient", "enroll", "--prescriber", doc, "--name", "Ann Roe", "--sex", "female",
              "--birth-date", "2012-05-01", "--category", "child_frp", "--guardian", "A Parent")
    assert _json(db, *enroll, "--menarche", code=2)["field"] == "facts.hysterectomy"
    assert _json(db, *enroll, code=2)["field"] == "facts"
    girl = _json(db, *enroll, "--menarche", *FACTS[1:], "--time-zone", "America/Chicago")["id"]
    renew = ("patient", "renew-ppaf", girl, "--category", "child_fnrp", "--guardian", "A Parent")
    assert _json(db, *renew, "--no-hysterectomy", "--no-oophorectomy", "--postmenopausal-since", "none",
                 code=2)["field"] == "facts.menarche"  # omitted
    assert _json(db, *renew, *FACTS, code=2)["field"] == "facts.menarche"  # unset: R35
    fixed = _json(db, "patient", "correct-facts", girl, *FACTS, "--reason", "entered for her sister")
    assert fixed["menarche"] is False
    assert _json(db, *renew, *FACTS)["test_phase"] == "not_required"
    assert _json(db, "patient", "time-zone", girl, "--zone", "Nowhere/Land", code=2)["field"] == "time_zone"
    assert _json(db, "patient", "time-zone", girl, "--zone", "Europe/Paris")["time_zone"] == "Europe/Paris"


def test_the_same_man_twice_is_refused_then_transferred_and_readmitted_r34(db: Path) -> None:
    doc, other = _prescriber(db, "1234567893"), _prescriber(db, "1234567802")
    enroll = ("patient", "enroll", "--name", "John Doe", "--sex", "male", "--birth-date", "1970-01-01",
              "--category", "adult_male", "--identifier", "urn:h:mrn|42")
    man = _json(db, *enroll, "--prescriber", doc)["id"]
    refused = _json(db, *enroll, "--prescriber", other, code=3)
    assert [f["code"] for f in refused["failures"]] == ["R34_ALREADY_ENROLLED"]
    assert man not in json.dumps(refused) and doc not in json.dumps(refused)
    assert _json(db, *enroll[:-1], "urn:h:mrn", "--prescriber", other, code=2)["field"] == "identifier"

    moved = _json(db, "patient", "transfer", man, "--to", other)
    assert (moved["patient"]["prescriber_id"], moved["from_prescriber_id"],  # the API's TransferOut
            moved["voided_authorizations"]) == (other, doc, 0)
    _json(db, "patient", "report-partner-pregnancy", man)
    _json(db, "patient", "discontinue", man)
    again = _json(db, *enroll, "--prescriber", other, code=3)
    assert [f["code"] for f in again["failures"]] == ["R34_READMISSION_DECISION_MISSING"]
    _json(db, "patient", "readmit", man, "--reason", "partner's pregnancy ended; reviewed")
    assert _json(db, *enroll, "--prescriber", other)["id"] != man
